using System.Text;
using Router.Bench;
using Router.Core.Analysis;
using Router.Evaluation.Data;
using Router.Evaluation.Metrics;
using Router.Evaluation.Routing;

namespace Router.Evaluation.Analysis;

/// <summary>
/// Checks request analysis against labelled data: the complexity the analyzer puts on every profile, as an AUC for
/// "the economy model is wrong and the premium model right" on the routing files (held-out halves, the difficulty
/// model retrained on the fit halves), and its rank correlation with hand labels on a prompts_labelled file.
/// </summary>
internal sealed class AnalysisEvaluator(Workbench bench)
{
    public string Run(IReadOnlyList<string> files)
    {
        var md = new StringBuilder();
        md.AppendLine("# Request analysis: complexity").AppendLine();
        md.AppendLine("Complexity AUC for \"weak model wrong and strong model right\" on held-out halves (the difficulty model is retrained on the other half):").AppendLine();
        md.AppendLine("| file | fold | rows | positives | `ComplexityScore` (embedding) | `Complexity` level | fast path (no embedding) |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        var pooled = new Dictionary<int, List<(bool Label, double Full, double Fast)>>();
        foreach (var file in files)
        {
            var data = bench.Load(file);
            foreach (var fold in bench.Settings.Folds)
            {
                var (_, report) = data.Split(fold);
                using var harness = new RouterHarness(new ComplexityEstimator(bench.Train(file, fold).Trained.Model), bench.Settings.Pair);
                var rows = report.Select(i => (
                    Label: data.Rows[i].WeakFailsStrongSucceeds,
                    Full: harness.Analyse(data.Rows[i], data.Requests[i], data.Embeddings[i]).Profile,
                    Fast: harness.Analyse(data.Rows[i], data.Requests[i], default).Profile)).ToList();
                var labels = rows.Select(r => r.Label).ToList();
                var full = Auc.Compute([.. rows.Select(r => r.Full.ComplexityScore ?? double.NaN)], labels);
                var level = Auc.Compute([.. rows.Select(r => (double)(r.Full.Complexity ?? 0))], labels);
                var fast = Auc.Compute([.. rows.Select(r => r.Fast.ComplexityScore ?? double.NaN)], labels);
                md.AppendLine($"| {data.Name} | {fold} | {rows.Count} | {labels.Count(l => l)} | {Format.Num(full)} | {Format.Num(level)} | {Format.Num(fast)} |");
                bench.Log.WriteLine($"{data.Name} fold {fold}: complexity AUC {Format.Num(full)} (level {Format.Num(level)}, fast path {Format.Num(fast)}) on {rows.Count} rows");
                var list = pooled.TryGetValue(fold, out var l) ? l : pooled[fold] = [];
                list.AddRange(rows.Select(r => (r.Label, r.Full.ComplexityScore ?? double.NaN, r.Fast.ComplexityScore ?? double.NaN)));
            }
        }

        if (files.Count > 1)
        {
            foreach (var (fold, rows) in pooled)
            {
                var labels = rows.Select(r => r.Label).ToList();
                var line = $"| pooled | {fold} | {rows.Count} | {labels.Count(l => l)} | {Format.Num(Auc.Compute([.. rows.Select(r => r.Full)], labels))} | | {Format.Num(Auc.Compute([.. rows.Select(r => r.Fast)], labels))} |";
                md.AppendLine(line);
            }
        }

        if (bench.Settings.LabelledFile is { } labelled && File.Exists(labelled))
        {
            md.AppendLine().Append(Labelled(labelled));
        }

        return md.ToString();
    }

    /// <summary>Complexity against low/medium/high hand labels, with the difficulty model shipped in Router.Core (never fitted on these prompts).</summary>
    private string Labelled(string path)
    {
        var skipped = new SkippedRows();
        var all = LabelledPrompt.Load(path, skipped);
        var rows = all.Where(r => r.Complexity is "low" or "medium" or "high").ToList();
        var unknown = all.Where(r => r.Complexity is not (null or "low" or "medium" or "high")).GroupBy(r => r.Complexity!, StringComparer.Ordinal).ToList();
        bench.Log.WriteLine($"{Path.GetFileName(path)}: {all.Count} rows{(skipped.Total > 0 ? $" ({skipped})" : "")}, {rows.Count} with a low/medium/high complexity"
            + (unknown.Count > 0 ? "; unknown complexity labels left out: " + string.Join(", ", unknown.Select(g => $"'{g.Key}' {g.Count()}")) : ""));
        using var harness = new RouterHarness(new ComplexityEstimator(), bench.Settings.Pair);
        var routing = rows.Select(r => new RoutingRow(r.Id, "", null, r.Prompt, [], default, default)).ToList();
        var requests = routing.Select(r => RouterHarness.Parse(RouterHarness.Body(r))).ToList();
        var texts = requests.Select(harness.EmbeddingText).ToList();
        var vectors = bench.Cache.GetOrEmbed([.. texts.Where(t => t.Length > 0).Distinct()]);
        var byText = texts.Where(t => t.Length > 0).Distinct().Select((t, i) => (t, v: vectors[i])).ToDictionary(p => p.t, p => p.v, StringComparer.Ordinal);
        var full = routing.Select((r, i) => harness.Analyse(r, requests[i], texts[i].Length > 0 ? byText[texts[i]] : default).Profile).ToList();
        var fast = routing.Select((r, i) => harness.Analyse(r, requests[i], default).Profile).ToList();
        var label = rows.Select(r => r.Complexity switch { "low" => 0.0, "medium" => 1.0, _ => 2.0 }).ToList();
        var sb = new StringBuilder();
        sb.AppendLine(Format.Invariant($"## {Path.GetFileName(path)} ({rows.Count} prompts, never used for fitting; shipped model)")).AppendLine();
        sb.AppendLine($"Spearman of `ComplexityScore` with low/medium/high: {Format.Num(Auc.Spearman([.. full.Select(p => p.ComplexityScore ?? 0)], label))} with the embedding, {Format.Num(Auc.Spearman([.. fast.Select(p => p.ComplexityScore ?? 0)], label))} on the fast path.").AppendLine();
        sb.AppendLine("| label | prompts | mean `Complexity` (embedding) | mean `Complexity` (fast path) |").AppendLine("|---|---|---|---|");
        foreach (var l in new[] { "low", "medium", "high" })
        {
            var idx = Enumerable.Range(0, rows.Count).Where(i => rows[i].Complexity == l).ToList();
            sb.AppendLine($"| {l} | {idx.Count} | {Format.Num(Format.Mean([.. idx.Select(i => (double)(full[i].Complexity ?? 0))]), "F2")} | {Format.Num(Format.Mean([.. idx.Select(i => (double)(fast[i].Complexity ?? 0))]), "F2")} |");
        }

        bench.Log.Write(sb.ToString());
        return sb.ToString();
    }
}
