using System.Text.Json;
using Router.Bench;

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

    /// <summary>Reads the rows that have a prompt and an outcome for both models; <paramref name="skipped"/> counts the
    /// others by reason (not a JSON object, no prompt, a model missing, no score, quality or correct for it, a judgement
    /// recorded as failed, a quality outside [0,1]). A row without an id is named by its line number.</summary>
    public static List<RoutingRow> Load(string path, string strongModel, string weakModel, SkippedRows skipped)
    {
        var rows = new List<RoutingRow>();
        foreach (var (line, root) in JsonLines.Read(path, skipped))
        {
            if (JsonLines.String(root, "prompt") is not { } prompt)
            {
                skipped.Add("no prompt");
                continue;
            }

            if (!root.TryGetProperty("models", out var models) || models.ValueKind != JsonValueKind.Object)
            {
                skipped.Add("no models");
                continue;
            }

            var (strongOutcome, strongMissing) = ReadOutcome(models, strongModel);
            var (weakOutcome, weakMissing) = ReadOutcome(models, weakModel);
            if (strongOutcome is null || weakOutcome is null)
            {
                skipped.Add(strongMissing ?? weakMissing!);
                continue;
            }

            rows.Add(new RoutingRow(
                JsonLines.Id(root, "id") ?? $"line {line}",
                JsonLines.String(root, "source") ?? "",
                JsonLines.String(root, "category"),
                prompt,
                JsonLines.Strings(root, "prior_user_turns"),
                strongOutcome.Value,
                weakOutcome.Value));
        }

        return rows;
    }

    /// <summary>The model's outcome, or null and why there is none.</summary>
    private static (ModelOutcome? Outcome, string? Missing) ReadOutcome(JsonElement models, string model)
    {
        if (!models.TryGetProperty(model, out var m) || m.ValueKind != JsonValueKind.Object)
        {
            return (null, "no outcome for " + model);
        }

        // quality, else a judged score (1-10), else correct (true/false, or 1/0).
        double? quality;
        if (JsonLines.Number(m, "quality") is { } q)
        {
            quality = q;
        }
        else if (JsonLines.Number(m, "score") is { } score)
        {
            // MT-bench records a judgement that failed as score -1: that row has no outcome for this model.
            quality = score >= 0 ? score / 10.0 : -1;
        }
        else
        {
            quality = JsonLines.Boolean(m, "correct") is { } correct ? (correct ? 1.0 : 0.0) : null;
        }

        switch (quality)
        {
            case null:
                return (null, "no score, quality or correct for " + model);
            case < 0:
                return (null, "failed judgement (negative score or quality) for " + model);
            case > 1:
                return (null, "quality above 1 for " + model);
        }

        // An estimate may be written with a fraction ("412.5"); it is a count, so it is rounded.
        var tokens = JsonLines.Number(m, "output_tokens_est") is { } t ? (int)Math.Clamp(Math.Round(t), 0, int.MaxValue) : 0;
        return (new ModelOutcome(quality.Value, tokens), null);
    }
}

/// <summary>A labelled prompt (prompts_labelled_dev.jsonl, task_types_dev.jsonl).</summary>
internal sealed record LabelledPrompt(string Id, string Prompt, string? TaskType, string? Complexity)
{
    /// <summary>Rows with a prompt; <paramref name="skipped"/> counts the others by reason.</summary>
    public static List<LabelledPrompt> Load(string path, SkippedRows skipped)
    {
        var rows = new List<LabelledPrompt>();
        foreach (var (line, r) in JsonLines.Read(path, skipped))
        {
            if (JsonLines.String(r, "prompt") is not { } prompt)
            {
                skipped.Add("no prompt");
                continue;
            }

            rows.Add(new LabelledPrompt(
                JsonLines.Id(r, "id") ?? $"line {line}",
                prompt,
                JsonLines.String(r, "task_type"),
                JsonLines.String(r, "complexity")));
        }

        return rows;
    }
}
