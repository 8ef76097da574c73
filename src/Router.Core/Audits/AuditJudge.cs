using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace Router.Core.Audits;

/// <summary>One judge pass: which answer was better and each answer's score (1–10).</summary>
/// <param name="Better">"A", "B" or "tie".</param>
/// <param name="ScoreA">Score of answer A.</param>
/// <param name="ScoreB">Score of answer B.</param>
public readonly record struct JudgePass(string Better, double ScoreA, double ScoreB);

/// <summary>Compares a candidate answer with a premium reference: two passes with the answers' positions swapped, so
/// a judge's preference for the first (or second) slot cancels out.</summary>
public sealed partial class AuditJudge
{
    /// <summary>The rubric the judge is given.</summary>
    public const string Rubric =
        "You are an impartial judge comparing two answers to the same conversation. Judge correctness, helpfulness, "
        + "completeness, whether the user's instructions were followed, and safety. Do not reward length or style for their "
        + "own sake. Reply with JSON only: {\"better\": \"A\" | \"B\" | \"tie\", \"score_a\": 1-10, \"score_b\": 1-10}.";

    /// <summary>Judges <paramref name="candidate"/> against <paramref name="reference"/>; returns the verdict for the
    /// candidate, its score (0–1, 0 when unjudged), whether the passes disagreed, and the judge's usage. A pass whose
    /// reply holds no verdict makes the audit <see cref="AuditVerdict.Unjudged"/> (the second pass is then not asked).</summary>
    public static async Task<(AuditVerdict Verdict, double Score, bool Disagreement, UsageDetails Usage)> JudgeAsync(
        IChatClient judge, IReadOnlyList<AuditMessage> conversation, string candidate, string reference, CancellationToken cancellationToken)
    {
        var usage = new UsageDetails();
        var first = await PassAsync(judge, conversation, candidate, reference, usage, cancellationToken);
        var second = first is null ? null : await PassAsync(judge, conversation, reference, candidate, usage, cancellationToken);
        if (first is not { } one || second is not { } two)
        {
            return (AuditVerdict.Unjudged, 0, false, usage);
        }

        // Candidate preference in each pass: +1 better, -1 worse, 0 tie.
        var pass1 = one.Better switch { "A" => 1, "B" => -1, _ => 0 };
        var pass2 = two.Better switch { "B" => 1, "A" => -1, _ => 0 };
        var verdict = (pass1 + pass2) switch
        {
            >= 1 => AuditVerdict.Better,
            <= -1 => AuditVerdict.Worse,
            _ => AuditVerdict.Equivalent,
        };
        var score = Math.Clamp((one.ScoreA + two.ScoreB) / 20.0, 0, 1);
        return (verdict, score, pass1 != pass2, usage);
    }

    /// <summary>Reads the judge's JSON (prose around it is tolerated, and missing scores); null when the reply names
    /// no verdict: empty, a refusal, error text, JSON without <c>better</c> or with another value.</summary>
    public static JudgePass? Parse(string text)
    {
        var start = text.IndexOf('{', StringComparison.Ordinal);
        var end = text.LastIndexOf('}');
        if (start >= 0 && end > start)
        {
            try
            {
                using var json = JsonDocument.Parse(text[start..(end + 1)]);
                var root = json.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("better", out var b) || b.ValueKind != JsonValueKind.String
                    || Verdict(b.GetString()!) is not { } better)
                {
                    return null;
                }

                return new JudgePass(better, Score(root, "score_a", better == "A" ? 8 : 5), Score(root, "score_b", better == "B" ? 8 : 5));
            }
            catch (JsonException)
            {
                // Fall through to the reading of broken JSON.
            }
        }

        // JSON cut short or malformed around an intact "better" field. Prose is not read: "B is better than answer A"
        // names both answers, and a guess would be stored as evidence. For the same reason a field whose value is not
        // followed by the end of a field (the rubric's own format echoed back, "A" | "B" | "tie") is no verdict, and
        // neither are fields that name different verdicts.
        string? found = null;
        foreach (Match match in BetterField().Matches(text))
        {
            if (Verdict(match.Groups[1].Value) is not { } named || (found is not null && found != named))
            {
                return null;
            }

            found = named;
        }

        return found is null ? null : new JudgePass(found, found == "A" ? 8 : 5, found == "B" ? 8 : 5);
    }

    private static string? Verdict(string value) => value.Trim().ToUpperInvariant() switch
    {
        "A" or "ANSWER A" => "A",
        "B" or "ANSWER B" => "B",
        "TIE" => "tie",
        _ => null,
    };

    private static double Score(JsonElement root, string name, double fallback) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? Math.Clamp(value.GetDouble(), 1, 10) : fallback;

    private static async Task<JudgePass?> PassAsync(
        IChatClient judge, IReadOnlyList<AuditMessage> conversation, string answerA, string answerB, UsageDetails usage, CancellationToken cancellationToken)
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
        if (response.Usage is not null)
        {
            usage.Add(response.Usage);
        }

        return Parse(response.Text);
    }

    [GeneratedRegex("\"better\"\\s*:\\s*\"([^\"]{1,10})\"(?=\\s*(?:[,}]|$))", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BetterField();
}
