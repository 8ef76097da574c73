using Router.Analysis.Training;
using Router.Core.Analysis;

namespace Router.Analysis.Evaluation;

/// <summary>Console tables: per-class precision/recall/F1, macro-F1, confusion matrix, risk recall and false-positive rate.</summary>
internal static class Report
{
    public static void Task(string title, IReadOnlyList<(TaskType Truth, TaskType Predicted)> pairs, bool full)
    {
        var classes = TaskTypeNames.All;
        var k = classes.Count;
        var matrix = ClassMetrics.Confusion(pairs.Select(p => ((int)p.Truth, (int)p.Predicted)), k);
        Console.WriteLine($"== {title}: {pairs.Count} rows, accuracy {(pairs.Count == 0 ? "n/a" : Num(100.0 * pairs.Count(p => p.Truth == p.Predicted) / pairs.Count, "F1") + "%")}");
        if (full)
        {
            Console.WriteLine($"   {"class",-17}{"prec",7}{"recall",8}{"F1",7}{"support",9}");
            for (var c = 0; c < k; c++)
            {
                var (precision, recall, f1, support) = ClassMetrics.Of(matrix, c);
                Console.WriteLine($"   {classes[c].ToWireName(),-17}{precision,7:F3}{recall,8:F3}{f1,7:F3}{support,9}");
            }
        }

        var (macroF1, present) = ClassMetrics.Macro(matrix);
        Console.WriteLine($"   macro-F1 {(present == 0 ? "n/a" : Num(macroF1, "F3"))} over {present} classes present");
        if (full)
        {
            Console.WriteLine("   confusion (rows = truth, columns = predicted, in class order above):");
            Console.WriteLine("   " + new string(' ', 17) + string.Concat(classes.Select(c => $"{Abbrev(c),5}")));
            for (var i = 0; i < k; i++)
            {
                Console.WriteLine($"   {classes[i].ToWireName(),-17}" + string.Concat(Enumerable.Range(0, k).Select(j => $"{(matrix[i, j] == 0 ? "." : matrix[i, j].ToString(System.Globalization.CultureInfo.InvariantCulture)),5}")));
            }
        }

        Console.WriteLine();
    }

    public static void Risk(IReadOnlyList<(LabelledRow Row, RiskAssessment Risk)> rows, bool verbose)
    {
        if (rows.Count == 0)
        {
            return;
        }

        var positives = rows.Where(r => r.Row.Risk >= RiskLevel.Medium).ToList();
        var negatives = rows.Where(r => r.Row.Risk == RiskLevel.None).ToList();
        var lows = rows.Where(r => r.Row.Risk == RiskLevel.Low).ToList();
        var caught = positives.Count(r => r.Risk.Level >= RiskLevel.Medium);
        var falseFlags = negatives.Count(r => r.Risk.Level >= RiskLevel.Medium);
        Console.WriteLine($"== RISK (rules; no learned part): {rows.Count} rows with a risk label");
        Console.WriteLine($"   medium/high recall   {caught}/{positives.Count} = {Ratio(caught, positives.Count)}   (target >= 0.95)");
        Console.WriteLine($"   none flagged med/high {falseFlags}/{negatives.Count} = {Ratio(falseFlags, negatives.Count)}   (target <= 0.05)");
        Console.WriteLine($"   exact level agreement {rows.Count(r => r.Risk.Level == r.Row.Risk)}/{rows.Count}; low-labelled rows flagged med/high {lows.Count(r => r.Risk.Level >= RiskLevel.Medium)}/{lows.Count}");
        Console.WriteLine($"   {"category",-10}{"recall",8}{"precision",11}{"support",9}");
        foreach (var category in Enum.GetValues<RiskCategory>())
        {
            var name = category.ToWireName();
            var truth = rows.Where(r => r.Row.RiskCategories.Contains(name)).ToList();
            var predicted = rows.Where(r => r.Risk.Categories.Contains(category) && r.Risk.Evidence.Any(e => e.Category == category && e.Level >= RiskLevel.Medium)).ToList();
            var tp = truth.Count(r => predicted.Contains(r));
            Console.WriteLine($"   {name,-10}{Ratio(tp, truth.Count),8}{Ratio(tp, predicted.Count),11}{truth.Count,9}");
        }

        Console.WriteLine("   (category columns count a category as predicted when it has medium-or-higher evidence)");
        foreach (var r in positives.Where(r => r.Risk.Level < RiskLevel.Medium))
        {
            Console.WriteLine($"   MISSED {r.Row.Id} ({r.Row.Risk}) {Clip(r.Row.Prompt, 100)}");
        }

        foreach (var r in negatives.Where(r => r.Risk.Level >= RiskLevel.Medium))
        {
            Console.WriteLine($"   FALSE  {r.Row.Id} {string.Join(",", r.Risk.Evidence.Where(e => e.Level >= RiskLevel.Medium).Select(e => $"{e.Rule}:'{e.Match}'"))} | {Clip(r.Row.Prompt, 80)}");
        }

        if (verbose)
        {
            foreach (var r in lows)
            {
                Console.WriteLine($"   LOW    {r.Row.Id} -> {r.Risk.Level} {string.Join(",", r.Risk.Evidence.Select(e => e.Rule))}");
            }
        }

        Console.WriteLine();
    }

    public static void Language(IReadOnlyList<(LabelledRow Row, string Predicted)> rows, bool verbose)
    {
        if (rows.Count == 0)
        {
            return;
        }

        var correct = rows.Count(r => r.Predicted == r.Row.Language);
        Console.WriteLine($"== LANGUAGE: {correct}/{rows.Count} = {Ratio(correct, rows.Count)}");
        foreach (var r in rows.Where(r => r.Predicted != r.Row.Language))
        {
            Console.WriteLine($"   {r.Row.Id} truth {r.Row.Language} predicted {r.Predicted} | {Clip(r.Row.Prompt, 80)}");
        }

        Console.WriteLine();
    }

    public static string Clip(string text, int length)
    {
        var flat = text.Replace('\n', ' ');
        return flat.Length <= length ? flat : flat[..length] + "…";
    }

    /// <summary>a/b to three decimals, or "n/a" when there is nothing to divide by (a class absent from the file).</summary>
    private static string Ratio(int a, int b) => b == 0 ? "n/a" : Num((double)a / b, "F3");

    private static string Num(double value, string format) => value.ToString(format, System.Globalization.CultureInfo.InvariantCulture);

    private static string Abbrev(TaskType t) => t switch
    {
        TaskType.Coding => "code",
        TaskType.Math => "math",
        TaskType.Reasoning => "reas",
        TaskType.CreativeWriting => "crea",
        TaskType.Writing => "writ",
        TaskType.Summarization => "summ",
        TaskType.Translation => "tran",
        TaskType.Extraction => "extr",
        TaskType.Classification => "clas",
        TaskType.KnowledgeQa => "kqa",
        TaskType.Advice => "advi",
        TaskType.Roleplay => "role",
        _ => "chat",
    };
}
