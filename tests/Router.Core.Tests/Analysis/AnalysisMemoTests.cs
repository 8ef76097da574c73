using Microsoft.Extensions.Options;
using Router.Core.Analysis;

namespace Router.Core.Tests.Analysis;

public sealed class AnalysisMemoTests
{
    private static AnalysisRequest Request(params (string Role, string? Text)[] messages) =>
        new([.. messages.Select(m => new AnalysisMessage(m.Role, m.Text))]);

    [Fact]
    public void The_key_is_the_same_for_the_same_tenant_and_inputs_and_differs_when_the_tenant_or_any_input_does()
    {
        var basic = Request(("system", "Be brief."), ("user", "abc"));
        var keys = new[]
        {
            AnalysisMemo.KeyOf("acme", basic),
            AnalysisMemo.KeyOf("acme", Request(("system", "Be brief.a"), ("user", "bc"))),
            AnalysisMemo.KeyOf("acme", Request(("user", "Be brief."), ("user", "abc"))),
            AnalysisMemo.KeyOf("acme", Request(("system", "Be brief."), ("user", "abd"))),
            AnalysisMemo.KeyOf("acme", Request(("system", "Be brief."), ("user", "abc"), ("user", ""))),
            AnalysisMemo.KeyOf("acme", Request(("system", "Be brief."), ("user", "abc"), ("user", null))),
            AnalysisMemo.KeyOf("acme", basic with { HasTools = true }),
            AnalysisMemo.KeyOf("acme", basic with { MaxTokens = 10 }),
            AnalysisMemo.KeyOf("acme", basic with { ResponseFormatType = "json_object" }),
            AnalysisMemo.KeyOf("acme", new AnalysisRequest([new AnalysisMessage("system", "Be brief."), new AnalysisMessage("user", "abc", HasImage: true)])),
            AnalysisMemo.KeyOf("globex", basic),
        };

        Assert.Equal(keys[0], AnalysisMemo.KeyOf("acme", Request(("system", "Be brief."), ("user", "abc"))));
        Assert.Equal(keys.Length, keys.Distinct().Count());
    }

    [Fact]
    public void A_remembered_analysis_comes_back_and_a_memo_of_size_zero_remembers_nothing()
    {
        var analyzer = AnalyzerFactory.Create();
        var request = AnalysisRequest.FromPrompt("Translate 'good morning' into Spanish.");
        var profile = analyzer.Analyze(request);
        var key = AnalysisMemo.KeyOf("acme", request);
        float[] embedding = [0.5f, 0.5f];

        var memo = new AnalysisMemo(Options.Create(new RequestAnalyzerOptions { MemoEntries = 10 }));
        Assert.False(memo.TryGet(key, out _, out _));
        memo.Add(key, profile, embedding);
        Assert.True(memo.TryGet(key, out var remembered, out var rememberedEmbedding));
        Assert.Same(profile, remembered);
        Assert.Equal(embedding, rememberedEmbedding.ToArray());

        var off = new AnalysisMemo(Options.Create(new RequestAnalyzerOptions { MemoEntries = 0 }));
        off.Add(key, profile, embedding);
        Assert.False(off.Enabled);
        Assert.False(off.TryGet(key, out _, out _));
    }

    [Fact]
    public void The_memo_rounds_its_slots_up_and_a_newer_analysis_takes_over_its_slot()
    {
        var analyzer = AnalyzerFactory.Create();
        var first = analyzer.Analyze(AnalysisRequest.FromPrompt("Write a haiku about rain."));
        var second = analyzer.Analyze(AnalysisRequest.FromPrompt("What is the capital of Peru?"));
        var memo = new AnalysisMemo(Options.Create(new RequestAnalyzerOptions { MemoEntries = 1000 }));
        UInt128 key = 12345;
        var sameSlot = key + (UInt128)memo.Capacity;
        var otherSlot = key + 1;

        memo.Add(key, first, default);
        memo.Add(otherSlot, second, default);
        Assert.Equal(1024, memo.Capacity);
        Assert.True(memo.TryGet(key, out var kept, out _));
        Assert.Same(first, kept);
        Assert.False(memo.TryGet(sameSlot, out _, out _));

        memo.Add(sameSlot, second, default);
        Assert.False(memo.TryGet(key, out _, out _));
        Assert.True(memo.TryGet(sameSlot, out var replaced, out _));
        Assert.Same(second, replaced);
        Assert.True(memo.TryGet(otherSlot, out _, out _));
    }
}
