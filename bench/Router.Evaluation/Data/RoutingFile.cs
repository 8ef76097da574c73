using System.Text.Json;

namespace Router.Evaluation.Data;

/// <summary>One prompt of a routing file with the outcome of the strong and the weak model.</summary>
internal sealed record RoutingRow(
    string Id,
    string Source,
    string? Category,
    string Prompt,
    IReadOnlyList<string> PriorUserTurns,
    ModelOutcome Strong,
    ModelOutcome Weak)
{
    /// <summary>The conversation as the router receives it: earlier user turns, then the prompt (the answers in between are not stored).</summary>
    public IEnumerable<string> UserTurns => PriorUserTurns.Append(Prompt);

    /// <summary>Quality won by sending this prompt to the strong model instead of the weak one.</summary>
    public double Gain => Strong.Quality - Weak.Quality;

    /// <summary>The binary outcome the complexity AUC is measured on: weak wrong and strong right.</summary>
    public bool WeakFailsStrongSucceeds => Weak.Quality < 0.5 && Strong.Quality >= 0.5;
}

/// <summary>One model's outcome on a row: quality in [0,1] (correct, or judged score / 10) and output length.</summary>
internal readonly record struct ModelOutcome(double Quality, int OutputTokens);

/// <summary>Reads routing files (the schema of /work/shared/data/routing_*.jsonl).</summary>
internal static class RoutingFile
{
    public const string DefaultStrongModel = "gpt-4-1106-preview";
    public const string DefaultWeakModel = "mixtral-8x7b-instruct-v0.1";

    /// <summary>Reads the rows that have an outcome for both models; <paramref name="skipped"/> counts the others
    /// (a model missing, or no score, quality or correct for it, or a judgement recorded as failed).</summary>
    public static List<RoutingRow> Load(string path, string strongModel, string weakModel, out int skipped)
    {
        var rows = new List<RoutingRow>();
        skipped = 0;
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var models = root.GetProperty("models");
            if (!models.TryGetProperty(strongModel, out var strong) || !models.TryGetProperty(weakModel, out var weak))
            {
                skipped++;
                continue;
            }

            var strongOutcome = ReadOutcome(strong);
            var weakOutcome = ReadOutcome(weak);
            if (strongOutcome is null || weakOutcome is null)
            {
                skipped++;
                continue;
            }

            var prior = new List<string>();
            if (root.TryGetProperty("prior_user_turns", out var turns) && turns.ValueKind == JsonValueKind.Array)
            {
                foreach (var t in turns.EnumerateArray())
                {
                    if (t.ValueKind == JsonValueKind.String)
                    {
                        prior.Add(t.GetString()!);
                    }
                }
            }

            rows.Add(new RoutingRow(
                root.GetProperty("id").ToString(),
                root.TryGetProperty("source", out var s) ? s.ToString() : "",
                root.TryGetProperty("category", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null,
                root.GetProperty("prompt").GetString() ?? "",
                prior,
                strongOutcome.Value,
                weakOutcome.Value));
        }

        return rows;
    }

    private static ModelOutcome? ReadOutcome(JsonElement m)
    {
        double? quality = null;
        if (m.TryGetProperty("quality", out var q) && q.ValueKind == JsonValueKind.Number)
        {
            quality = q.GetDouble();
        }
        else if (m.TryGetProperty("score", out var sc) && sc.ValueKind == JsonValueKind.Number)
        {
            // MT-bench records a judgement that failed as score -1: that row has no outcome for this model.
            quality = sc.GetDouble() is >= 0 and var score ? score / 10.0 : null;
        }
        else if (m.TryGetProperty("correct", out var cr) && cr.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            quality = cr.GetBoolean() ? 1.0 : 0.0;
        }

        if (quality is not { } value || !double.IsFinite(value) || value < 0)
        {
            return null;
        }

        // An estimate may be written with a fraction ("412.5"); it is a count, so it is rounded.
        var tokens = m.TryGetProperty("output_tokens_est", out var ot) && ot.ValueKind == JsonValueKind.Number
            ? (int)Math.Clamp(Math.Round(ot.GetDouble()), 0, int.MaxValue)
            : 0;
        return new ModelOutcome(value, tokens);
    }
}

/// <summary>A labelled prompt (prompts_labelled_dev.jsonl, task_types_dev.jsonl).</summary>
internal sealed record LabelledPrompt(string Id, string Prompt, string? TaskType, string? Complexity)
{
    public static List<LabelledPrompt> Load(string path)
    {
        var rows = new List<LabelledPrompt>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            rows.Add(new LabelledPrompt(
                r.GetProperty("id").ToString(),
                r.GetProperty("prompt").GetString() ?? "",
                r.TryGetProperty("task_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null,
                r.TryGetProperty("complexity", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null));
        }

        return rows;
    }
}
