using Microsoft.Extensions.AI;
using Router.Core.Audits;

namespace Router.Core.Tests.Audits;

public sealed class AuditJudgeTests
{
    /// <summary>A judge that answers every pass with <c>reply(prompt)</c> and counts the passes.</summary>
    private sealed class ScriptedJudge(Func<string, string> reply) : IChatClient
    {
        public int Calls { get; private set; }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Calls++;
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, reply(messages.Last().Text)))
            {
                Usage = new UsageDetails { InputTokenCount = 100, OutputTokenCount = 10 },
            });
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    private static readonly AuditMessage[] Conversation = [new("user", "Reverse a string in C#.")];

    [Theory]
    [InlineData("""{"better": "A", "score_a": 9, "score_b": 4}""", "A")]
    [InlineData("""Here is my verdict: ```json {"better":"b","score_a":3,"score_b":8} ```""", "B")]
    [InlineData("""{"better": "tie"}""", "tie")]
    [InlineData("""{"better": "A", "score_a": 9, "sco""", "A")]
    public void A_reply_naming_a_verdict_is_read(string reply, string better)
    {
        Assert.Equal(better, AuditJudge.Parse(reply)?.Better);
    }

    [Theory]
    [InlineData("")]
    [InlineData("I'm sorry, but I can't help with that.")]
    [InlineData("upstream error: model overloaded")]
    [InlineData("""{"verdict": "answer B is much better"}""")]
    [InlineData("""{"better": "both are fine"}""")]
    [InlineData("Answer B is better than Answer A.")]
    // A refusal that echoes the rubric's reply format names every verdict, so it names none.
    [InlineData("""I can't judge this. The expected format was {"better": "A" | "B" | "tie", "score_a": 1-10, "score_b": 1-10}.""")]
    // Two verdicts in one reply, the JSON around them unreadable: which one the judge meant is a guess.
    [InlineData("""First thought: {"better": "A"}. On reflection: {"better": "B"}""")]
    public void A_reply_without_a_verdict_is_not_read_as_a_tie(string reply)
    {
        Assert.Null(AuditJudge.Parse(reply));
    }

    [Fact]
    public async Task A_refusing_judge_leaves_the_audit_unjudged_after_one_pass_and_its_usage_is_still_counted()
    {
        var judge = new ScriptedJudge(_ => "I'm sorry, but I can't compare these answers.");

        var (verdict, score, _, usage) = await AuditJudge.JudgeAsync(judge, Conversation, "candidate", "reference", CancellationToken.None);

        Assert.Equal(AuditVerdict.Unjudged, verdict);
        Assert.Equal(0, score);
        Assert.Equal(1, judge.Calls);
        Assert.Equal(100, usage.InputTokenCount);
    }

    [Fact]
    public async Task A_judge_that_always_prefers_the_first_slot_gives_an_inconclusive_audit()
    {
        var judge = new ScriptedJudge(_ => """{"better":"A","score_a":9,"score_b":3}""");

        var (verdict, _, disagreement, usage) = await AuditJudge.JudgeAsync(judge, Conversation, "BAD ANSWER", "reference", CancellationToken.None);
        var audit = new AuditResult
        {
            RequestId = "req_slot", TenantId = "t", RequestTime = DateTimeOffset.UnixEpoch, AuditedAt = DateTimeOffset.UnixEpoch,
            Task = "coding", Band = "low", Model = "m", Tier = "economy", Reason = AuditReasons.Sampled,
            Verdict = verdict, Score = 0.6, PositionDisagreement = disagreement,
        };

        Assert.True(disagreement);
        Assert.False(audit.Conclusive);
        Assert.Equal(2, judge.Calls);
        Assert.Equal(200, usage.InputTokenCount);
    }
}
