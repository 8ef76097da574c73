using Router.Bench;
using Router.Core.Analysis;
using Router.Core.Chat;
using Router.Evaluation.Data;
using Router.Evaluation.Embeddings;
using Router.Evaluation.Routing;
using Router.Evaluation.Training;

namespace Router.Evaluation;

/// <summary>What one evaluation run uses: training files, folds, prices, output folder.</summary>
internal sealed record EvaluationSettings
{
    /// <summary>Routing files whose fit halves train the difficulty model besides the evaluated file's own fit half.</summary>
    public IReadOnlyList<string> TrainFiles { get; init; } = [];

    /// <summary>Also run fold 1 (fit on half B, report on half A).</summary>
    public bool CrossFit { get; init; }

    public string OutputDirectory { get; init; } = "docs/evaluation";

    public ModelPair Pair { get; init; } = new();

    public TrainerOptions Trainer { get; init; } = new();

    /// <summary>A prompts_labelled-style file (complexity low/medium/high) for the complexity correlation.</summary>
    public string? LabelledFile { get; init; }

    public int[] Folds => CrossFit ? [0, 1] : [0];
}

/// <summary>A routing file as the router receives it: parsed requests, the texts it embeds and analyses, embeddings.</summary>
internal sealed record RoutingData(string Path, string Name, List<RoutingRow> Rows, ChatRequest[] Requests, string[] ComplexityTexts, float[]?[] Embeddings)
{
    /// <summary>Fit and report halves of <paramref name="fold"/> (0 or 1); a negative fold fits on every row.</summary>
    public (List<int> Fit, List<int> Report) Split(int fold) =>
        fold < 0 ? ([.. Enumerable.Range(0, Rows.Count)], []) : HoldoutSplit.Split(Enumerable.Range(0, Rows.Count), i => Rows[i].Id, fold);
}

/// <summary>A difficulty model trained on fit halves, with the out-of-fold gain of each training row (by file and row
/// position: two rows may share an id, such as the turns of one conversation).</summary>
internal sealed record TrainedFold(TrainedModel Trained, IReadOnlyDictionary<(string File, int Row), int> Index, string Provenance);

/// <summary>Loads routing files once, embeds with the on-disk cache, and trains (and caches) one model per fold and training set.</summary>
internal sealed class Workbench(EmbeddingCache cache, EvaluationSettings settings, TextWriter log)
{
    private readonly Dictionary<string, RoutingData> _files = [];
    private readonly Dictionary<string, TrainedFold> _models = [];
    private readonly RequestAnalyzerOptions _analyzerOptions = new();

    public EvaluationSettings Settings => settings;

    public TextWriter Log => log;

    public EmbeddingCache Cache => cache;

    public RoutingData Load(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (_files.TryGetValue(full, out var loaded))
        {
            return loaded;
        }

        var skipped = new SkippedRows();
        var rows = RoutingFile.Load(full, settings.Pair.Strong, settings.Pair.Weak, skipped);
        var requests = rows.Select(r => RouterHarness.Parse(RouterHarness.Body(r))).ToArray();
        var inputs = requests.Select(r => RequestAnalyzer.ComplexityInputs(Core.Pipeline.ChatPipeline.ToAnalysisRequest(r), _analyzerOptions)).ToArray();
        var texts = inputs.Select(i => i.EmbeddingText).ToList();
        var toEmbed = texts.Where(t => t.Length > 0).Distinct().ToList();
        log.WriteLine($"{System.IO.Path.GetFileName(full)}: {rows.Count} rows{(skipped.Total > 0 ? $" ({skipped})" : "")}; {toEmbed.Count} texts to embed (cache: {cache.Path})");
        var vectors = cache.GetOrEmbed(toEmbed, (done, total) =>
        {
            if (done % 512 == 0 || done == total)
            {
                log.WriteLine($"  embedded {done}/{total} new texts");
            }
        });
        var byText = toEmbed.Select((t, i) => (t, v: vectors[i])).ToDictionary(p => p.t, p => p.v, StringComparer.Ordinal);
        var embeddings = texts.Select(t => t.Length > 0 ? byText[t] : null).ToArray();
        var data = new RoutingData(full, System.IO.Path.GetFileName(full), rows, requests, [.. inputs.Select(i => i.ComplexityText)], embeddings);
        _files[full] = data;
        return data;
    }

    /// <summary>The model for reporting on <paramref name="file"/>'s fold: trained on the fit halves of the training files and of the file itself.</summary>
    public TrainedFold Train(string file, int fold) => Train([.. settings.TrainFiles, file], fold);

    public TrainedFold Train(IEnumerable<string> files, int fold)
    {
        var trainFiles = files.Select(System.IO.Path.GetFullPath).Distinct().OrderBy(f => f, StringComparer.Ordinal).ToList();
        var key = $"{fold}|{string.Join("|", trainFiles)}";
        if (_models.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var examples = new List<TrainingExample>();
        var index = new Dictionary<(string, int), int>();
        foreach (var f in trainFiles)
        {
            var data = Load(f);
            foreach (var i in data.Split(fold).Fit)
            {
                if (data.Embeddings[i] is not { } embedding)
                {
                    continue;
                }

                var row = data.Rows[i];
                index[(data.Path, i)] = examples.Count;
                examples.Add(new TrainingExample(data.ComplexityTexts[i], embedding, row.Strong.Quality, row.Weak.Quality, data.Name));
            }
        }

        var names = string.Join(", ", trainFiles.Select(System.IO.Path.GetFileName));
        var what = fold < 0 ? "all rows" : $"fold {fold} fit halves (SHA-256 of id)";
        log.WriteLine($"training on {what} of {names} ({examples.Count} rows)");
        if (examples.Count == 0)
        {
            // A small file can leave a fit half empty: report with the shipped model rather than fit nothing.
            log.WriteLine("  no rows to train on: using the difficulty model shipped in Router.Core");
            var shipped = new TrainedModel(DifficultyModel.Default, [], [], [], []);
            return _models[key] = new TrainedFold(shipped, index, $"the shipped difficulty model (no rows in {what} of {names})");
        }

        var provenance = $"Router.Evaluation train: {what} of {names}; " +
            "data: lm-sys/RouteLLM eval data (Apache-2.0), GSM8K (MIT), MMLU (MIT)";
        var trained = DifficultyModelTrainer.Train(examples, settings.Trainer, provenance, s => log.WriteLine("  " + s));
        var result = new TrainedFold(trained, index, provenance);
        _models[key] = result;
        return result;
    }
}
