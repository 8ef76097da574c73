using System.Text.Json;
using System.Text.RegularExpressions;
using Router.Bench;
using Router.Core.Analysis;

namespace Router.Analysis.Training;

/// <summary>One labelled prompt from the development files.</summary>
internal sealed record LabelledRow(
    string Id,
    string File,
    string Source,
    string Prompt,
    TaskType? Task,
    string? OriginalLabel,
    RiskLevel? Risk,
    IReadOnlyList<string> RiskCategories,
    string? Language,
    IReadOnlyList<string> FollowUps)
{
    /// <summary>Fold 0 or 1 from the FNV-1a hash of the id: stable across runs, machines and row order.</summary>
    public int Fold => FoldOf(2);

    /// <summary>Prefix of the id before hashing, for repeating a cross-fit on other splits (empty: the reported split).</summary>
    public static string FoldSalt { get; set; } = "";

    /// <summary>Fold among <paramref name="folds"/> from the same hash (for 2 folds: its parity).</summary>
    public int FoldOf(int folds) => (int)((FoldSalt.Length == 0 ? Fnv1a(Id) : Mix(Fnv1a(FoldSalt + Id))) % (uint)folds);

    public static uint Fnv1a(string text)
    {
        var hash = 2166136261u;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(text))
        {
            hash = unchecked((hash ^ b) * 16777619u);
        }

        return hash;
    }

    // FNV-1a's low bit is the parity of the bytes' low bits, so a salt alone would only swap the two folds.
    private static uint Mix(uint h) => unchecked((h ^ (h >> 16)) * 0x45D9F3Bu) ^ (h >> 13);
}

/// <summary>Reads the labelled JSON Lines files (prompts_labelled_dev and task_types_dev shapes).</summary>
internal static partial class LabelledData
{
    public static readonly string[] DefaultFiles = ["prompts_labelled_dev.jsonl", "task_types_dev.jsonl"];

    /// <summary>
    /// Loads files from a directory (the default pair) or a single file. Lines that are not JSON objects and rows without
    /// a prompt are skipped; labels this code does not know (a task type, risk level or risk category) are left out of
    /// the row and reported, like everything skipped, through <paramref name="log"/>.
    /// </summary>
    public static List<LabelledRow> Load(string path, Action<string>? log = null)
    {
        var files = Directory.Exists(path) ? FilesIn(path) : [path];
        if (files.Count == 0)
        {
            log?.Invoke($"{path}: no labelled files ({string.Join(", ", DefaultFiles)}, or prompts_labelled*.jsonl and task_types*.jsonl)");
        }

        var knownCategories = Enum.GetValues<RiskCategory>().Select(c => c.ToWireName()).ToHashSet(StringComparer.Ordinal);
        var rows = new List<LabelledRow>();
        foreach (var file in files)
        {
            var name = Path.GetFileName(file);
            var skipped = new SkippedRows();
            var unknown = new SortedDictionary<string, int>(StringComparer.Ordinal);
            void Unknown(string what) => unknown[what] = unknown.GetValueOrDefault(what) + 1;
            var before = rows.Count;
            foreach (var (lineNumber, root) in JsonLines.Read(file, skipped))
            {
                if (JsonLines.String(root, "prompt") is not { } prompt)
                {
                    skipped.Add("no prompt");
                    continue;
                }

                var id = JsonLines.Id(root, "id") ?? $"{name}:{lineNumber}";
                var original = JsonLines.String(root, "label_original");
                var label = Label(root, "task_type");
                var task = MapTask(label, original, prompt);
                if (label is not null && task is null)
                {
                    Unknown($"task_type '{label}'");
                }

                var riskLabel = Label(root, "risk_level");
                RiskLevel? risk = riskLabel switch
                {
                    "none" => RiskLevel.None,
                    "low" => RiskLevel.Low,
                    "medium" => RiskLevel.Medium,
                    "high" => RiskLevel.High,
                    _ => null,
                };
                if (riskLabel is not null && risk is null)
                {
                    Unknown($"risk_level '{riskLabel}'");
                }

                var categories = JsonLines.Strings(root, "risk_categories");
                foreach (var category in categories.Where(c => !knownCategories.Contains(c)))
                {
                    Unknown($"risk category '{category}'");
                }

                var followUps = JsonLines.Strings(root, "followup_turns");
                if (followUps.Count == 0)
                {
                    followUps = JsonLines.Strings(root, "prior_user_turns");
                }

                rows.Add(new LabelledRow(id, name, JsonLines.String(root, "source") ?? name, prompt, task, original, risk, categories, JsonLines.String(root, "language"), followUps));
            }

            log?.Invoke($"{name}: {rows.Count - before} rows"
                + (skipped.Total > 0 ? $" ({skipped})" : "")
                + (unknown.Count > 0 ? "; labels not known here, left out: " + string.Join(", ", unknown.Select(u => $"{u.Key} {u.Value}")) : ""));
        }

        return rows;
    }

    /// <summary>The default pair in <paramref name="directory"/>, else any prompts_labelled*.jsonl and task_types*.jsonl (another split's names).</summary>
    private static List<string> FilesIn(string directory) =>
        DataFiles.In(directory, DefaultFiles, "prompts_labelled*.jsonl", "task_types*.jsonl");

    /// <summary>
    /// Maps a file label to a contract task type. <c>open_qa_advice</c> (Vicuna "generic" and "counterfactual") is split by
    /// content: counterfactual "what if" questions are reasoning; generic ones asking how the user can act are advice;
    /// the rest (factors, challenges) are knowledge_qa.
    /// </summary>
    public static TaskType? MapTask(string? label, string? original, string prompt)
    {
        if (label is null)
        {
            return null;
        }

        if (label == "open_qa_advice")
        {
            if (original == "counterfactual" || prompt.StartsWith("What if", StringComparison.OrdinalIgnoreCase))
            {
                return TaskType.Reasoning;
            }

            return AdviceLike().IsMatch(prompt) ? TaskType.Advice : TaskType.KnowledgeQa;
        }

        return TaskTypeNames.TryParse(label, out var type) ? type : null;
    }

    [GeneratedRegex(@"\b(how can i|how do i|how should i|ways to|strategies|tips|deal with|improve my)\b", RegexOptions.IgnoreCase)]
    private static partial Regex AdviceLike();

    /// <summary>A label as written: a string, or any other non-null value as its JSON text (reported as unknown).</summary>
    private static string? Label(JsonElement e, string name) =>
        !e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.String ? JsonLines.Text(v)
        : v.GetRawText();
}
