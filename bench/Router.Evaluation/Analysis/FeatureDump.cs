using System.Text.Json;
using Router.Core.Analysis;
using Router.Evaluation.Embeddings;
using Router.Evaluation.Routing;

namespace Router.Evaluation.Analysis;

/// <summary>
/// Research aid: writes, per fold, every row's difficulty-head inputs (fit rows as the trainer saw them, report rows as
/// inference builds them), outcomes, costs and the router's knob threshold, plus the row embeddings, so that training
/// choices can be explored offline on exactly the evaluator's halves. Writes <c>NAME.foldF.jsonl</c> (one row per line:
/// outcomes, costs, knob threshold and score on report rows, training weight on fit rows, raw structural features, head
/// input <c>x</c>) and <c>NAME.emb.f32</c> (float32, rows × 384, zeros where nothing was embedded).
/// </summary>
internal sealed class FeatureDump(Workbench bench)
{
    // A score or feature that is NaN (a degenerate fit on a tiny file) is written as "NaN" rather than failing the dump.
    private static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public void Run(IReadOnlyList<string> files, string directory, bool alternativeWindows)
    {
        Directory.CreateDirectory(directory);
        foreach (var file in files)
        {
            var data = bench.Load(file);
            var name = Path.GetFileNameWithoutExtension(data.Name);
            using (var bin = File.Create(Path.Combine(directory, name + ".emb.f32")))
            using (var writer = new BinaryWriter(bin))
            {
                foreach (var e in data.Embeddings)
                {
                    foreach (var v in e ?? new float[EmbeddingCache.Dimensions])
                    {
                        writer.Write(v);
                    }
                }
            }

            // Other windows are embedded for small files only (embedding all of MMLU again takes many minutes).
            if (alternativeWindows && data.Rows.Count < 2000)
            {
                WriteAlternatives(data, directory, name);
            }

            foreach (var fold in bench.Settings.Folds)
            {
                var (fit, report) = data.Split(fold);
                var trained = bench.Train(file, fold);
                var model = trained.Trained.Model;
                using var harness = new RouterHarness(new ComplexityEstimator(model), bench.Settings.Pair);
                using var output = new StreamWriter(Path.Combine(directory, $"{name}.fold{fold}.jsonl"));
                var reportSet = report.ToHashSet();
                for (var i = 0; i < data.Rows.Count; i++)
                {
                    var row = data.Rows[i];
                    var isReport = reportSet.Contains(i);
                    var analysed = harness.Analyse(row, data.Requests[i], isReport ? data.Embeddings[i] : default);
                    double[]? x = null;
                    double weight = 0;
                    double? knob = null;
                    if (isReport)
                    {
                        x = Features(model, data.ComplexityTexts[i], data.Embeddings[i]);
                        var k = harness.PremiumFromKnob(analysed);
                        knob = double.IsPositiveInfinity(k) ? 9 : k;
                    }
                    else if (trained.Index.TryGetValue((data.Path, i), out var t))
                    {
                        x = trained.Trained.FullFeatures[t];
                        weight = trained.Trained.Weight[t];
                    }

                    var raw = new double[StructuralFeatures.Count];
                    StructuralFeatures.Fill(PromptSignals.Extract(data.ComplexityTexts[i]), raw);
                    output.WriteLine(JsonSerializer.Serialize(new
                    {
                        i,
                        id = row.Id,
                        category = row.Category,
                        report = isReport,
                        sq = row.Strong.Quality,
                        wq = row.Weak.Quality,
                        sc = analysed.StrongCost,
                        wc = analysed.WeakCost,
                        knob,
                        score = isReport ? analysed.Profile.ComplexityScore : null,
                        task = analysed.Profile.Task.Type.ToWireName(),
                        risk = analysed.Profile.Risk.Level.ToString(),
                        weight,
                        raw,
                        x,
                    }, Json));
                }

                bench.Log.WriteLine($"{name} fold {fold}: dumped {data.Rows.Count} rows");
            }
        }
    }

    /// <summary>The head input as <see cref="ComplexityEstimator"/> builds it.</summary>
    private static double[] Features(DifficultyModel model, string text, float[]? embedding)
    {
        var data = model.Data;
        var x = new double[DifficultyFeatures.FullCount];
        var raw = new double[StructuralFeatures.Count];
        (double, double)? neighbours = embedding is null ? null : model.NeighbourFailureLogits(embedding);
        (double, double, double, double)? exemplars = null;
        if (embedding is not null && model.Exemplars is { } index)
        {
            var projected = new float[data.ExemplarDimensions];
            index.Project(embedding, projected);
            exemplars = index.Features(projected);
        }

        DifficultyFeatures.Fill(data.FeatureMean, data.FeatureScale, PromptSignals.Extract(text), raw, x, neighbours, exemplars);
        return x;
    }

    /// <summary>Embeddings of other windows of the routed text: its last sentence (the question) and the rest.</summary>
    private void WriteAlternatives(RoutingData data, string directory, string name)
    {
        var question = new string[data.Rows.Count];
        var context = new string[data.Rows.Count];
        for (var i = 0; i < data.Rows.Count; i++)
        {
            var text = data.Rows[i].Prompt.Trim();
            var options = text.IndexOf("\nA.", StringComparison.Ordinal);
            var stem = options > 0 ? text[..options].Trim() : text;
            var cut = LastSentenceStart(stem);
            question[i] = stem[cut..].Trim();
            context[i] = cut > 0 ? stem[..cut].Trim() : stem;
        }

        foreach (var (label, texts) in new[] { ("question", question), ("context", context) })
        {
            var distinct = texts.Distinct().ToList();
            var vectors = bench.Cache.GetOrEmbed(distinct, (done, total) =>
            {
                if (done % 256 == 0 || done == total)
                {
                    bench.Log.WriteLine($"  {label}: embedded {done}/{total}");
                }
            });
            var byText = distinct.Select((t, k) => (t, v: vectors[k])).ToDictionary(p => p.t, p => p.v, StringComparer.Ordinal);
            using var bin = File.Create(Path.Combine(directory, $"{name}.{label}.f32"));
            using var writer = new BinaryWriter(bin);
            foreach (var t in texts)
            {
                foreach (var v in byText[t])
                {
                    writer.Write(v);
                }
            }
        }
    }

    /// <summary>Start of the last sentence: after the last ". ", "? " or "! " that is followed by more text.</summary>
    private static int LastSentenceStart(string text)
    {
        for (var k = text.Length - 2; k > 0; k--)
        {
            if ((text[k] is '.' or '?' or '!') && char.IsWhiteSpace(text[k + 1]) && k + 2 < text.Length && char.IsUpper(text[k + 2]))
            {
                return k + 2;
            }
        }

        return 0;
    }
}
