using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Router.Core.Audits;

/// <summary>One judge pass: which answer was better and each answer's score (1–10).</summary>
/// <param name="Better">"A", "B" or "tie".</param>
/// <param name="ScoreA">Score of answer A.</param>
/// <param name="ScoreB">Score of answer B.</param>
public readonly record struct JudgePass(string Better, double ScoreA, double ScoreB);

/// <summary>Compares a candidate answer with a premium reference: two passes with the answers' positions swapped, so
/// a judge's preference for the first (or second) slot cancels out.</summary>
public sealed class AuditJudge
{
    /// <summary>The rubric the judge is given.</summary>
    public const string Rubric =
        "You are an impartial judge comparing two answers to the same conversation. Judge correctness, helpfulness, "
        + "completeness, whether the user's instructions were followed, and safety. Do not reward length or style for their "
        + "own sake. Reply with JSON only: {\"better\": \"A\" | \"B\" | \"tie\", \"score_a\": 1-10, \"score_b\": 1-10}.";

    /// <summary>Judges <paramref name="candidate"/> against <paramref name="reference"/>; returns the verdict for the
    /// candidate, its score (0–1), whether the passes disagreed, and the judge's usage.</summary>
    public static async Task<(AuditVerdict Verdict, double Score, bool Disagreement, UsageDetails Usage)> JudgeAsync(
        IChatClient judge, IReadOnlyList<AuditMessage> conversation, string candidate, string reference, CancellationToken cancellationToken)
    {
        var first = await PassAsync(judge, conversation, candidate, reference, cancellationToken);
        var second = await PassAsync(judge, conversation, reference, candidate, cancellationToken);

        // Candidate preference in each pass: +1 better, -1 worse, 0 tie.
        var pass1 = first.Pass.Better switch { "A" => 1, "B" => -1, _ => 0 };
        var pass2 = second.Pass.Better switch { "B" => 1, "A" => -1, _ => 0 };
        var verdict = (pass1 + pass2) switch
        {
            >= 1 => AuditVerdict.Better,
            <= -1 => AuditVerdict.Worse,
            _ => AuditVerdict.Equivalent,
        };
        var score = Math.Clamp((first.Pass.ScoreA + second.Pass.ScoreB) / 20.0, 0, 1);
        var usage = new UsageDetails();
        foreach (var part in new[] { first.Usage, second.Usage })
        {
            if (part is not null)
            {
                usage.Add(part);
            }
        }
        return (verdict, score, pass1 != pass2, usage);
    }

    /// <summary>Reads the judge's JSON; tolerates prose around it and missing scores.</summary>
    public static JudgePass Parse(string text)
    {
        var start = text.IndexOf('{', StringComparison.Ordinal);
        var end = text.LastIndexOf('}');
        if (start >= 0 && end > start)
        {
            try
            {
                using var json = JsonDocument.Parse(text[start..(end + 1)]);
                var root = json.RootElement;
                var better = root.TryGetProperty("better", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString()!.Trim() : "tie";
                better = better.ToUpperInvariant() switch { "A" => "A", "B" => "B", _ => "tie" };
                return new JudgePass(better, Score(root, "score_a", better == "A" ? 8 : 5), Score(root, "score_b", better == "B" ? 8 : 5));
            }
            catch (JsonException)
            {
                // Fall through to the plain-text reading.
            }
        }

        var upper = text.ToUpperInvariant();
        var verdict = upper.Contains("\"A\"", StringComparison.Ordinal) || upper.Contains("ANSWER A", StringComparison.Ordinal) ? "A"
            : upper.Contains("\"B\"", StringComparison.Ordinal) || upper.Contains("ANSWER B", StringComparison.Ordinal) ? "B" : "tie";
        return new JudgePass(verdict, verdict == "A" ? 8 : 5, verdict == "B" ? 8 : 5);
    }

    private static double Score(JsonElement root, string name, double fallback) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? Math.Clamp(value.GetDouble(), 1, 10) : fallback;

    private static async Task<(JudgePass Pass, UsageDetails? Usage)> PassAsync(
        IChatClient judge, IReadOnlyList<AuditMessage> conversation, string answerA, string answerB, CancellationToken cancellationToken)
    {
        var prompt = new StringBuilder("[Conversation]\n");
        foreach (var message in conversation)
        {
            prompt.Append(message.Role).Append(": ").Append(message.Content).Append('\n');
        }

        prompt.Append("\n[Answer A]\n").Append(answerA).Append("\n\n[Answer B]\n").Append(answerB).Append('\n');
        var response = await judge.GetResponseAsync(
            [new ChatMessage(ChatRole.System, Rubric), new ChatMessage(ChatRole.User, prompt.ToString())],
            new ChatOptions { Temperature = 0, ResponseFormat = ChatResponseFormat.Json },
            cancellationToken);
        return (Parse(response.Text), response.Usage);
    }
}
