using System.Globalization;
using Microsoft.Extensions.Options;
using Router.Analysis.Evaluation;
using Router.Analysis.Training;
using Router.Core.Analysis;
using Router.Infrastructure.Embeddings;

// Scores request analysis on labelled JSON Lines files.
//   dotnet run -c Release --project eval -- --data /work/shared/data            (2-fold cross-fit, with and without embedding)
//   dotnet run -c Release --project eval -- --data file.jsonl --shipped         (the embedded model as shipped)
//   dotnet run -c Release --project eval -- --data /work/shared/data --split-seed 1   (the same cross-fit on another split)
var arguments = CommandLine.Parse(args);
var data = arguments.GetValueOrDefault("data", "/work/shared/data");
var cache = arguments.GetValueOrDefault("cache", Path.Combine(Path.GetTempPath(), "router-analysis-cache"));
var maxTokens = int.Parse(arguments.GetValueOrDefault("max-tokens", "128"), CultureInfo.InvariantCulture);
var quantize = !arguments.ContainsKey("float");
var shipped = arguments.ContainsKey("shipped");
var verbose = arguments.ContainsKey("verbose");
var options = new RequestAnalyzerOptions();
if (arguments.TryGetValue("head", out var head))
{
    options.EmbeddingHeadChars = int.Parse(head, CultureInfo.InvariantCulture);
}

if (arguments.TryGetValue("tail", out var tail))
{
    options.EmbeddingTailChars = int.Parse(tail, CultureInfo.InvariantCulture);
}

if (arguments.TryGetValue("l2-full", out var l2Full))
{
    TaskModelTrainer.FullL2 = double.Parse(l2Full, CultureInfo.InvariantCulture);
}

if (arguments.TryGetValue("l2-fast", out var l2Fast))
{
    TaskModelTrainer.FastL2 = double.Parse(l2Fast, CultureInfo.InvariantCulture);
}

if (arguments.TryGetValue("iterations", out var iterations))
{
    TaskModelTrainer.Iterations = int.Parse(iterations, CultureInfo.InvariantCulture);
}

if (arguments.TryGetValue("fast-weight", out var fastWeight))
{
    TaskModelTrainer.FastWeight = float.Parse(fastWeight, CultureInfo.InvariantCulture);
}

if (arguments.TryGetValue("fast-weight-nonlatin", out var fastWeightNonLatin))
{
    TaskModelTrainer.FastWeightNonLatin = float.Parse(fastWeightNonLatin, CultureInfo.InvariantCulture);
}

if (arguments.TryGetValue("keyword-boost", out var boost))
{
    TaskModelTrainer.KeywordBoost = float.Parse(boost, CultureInfo.InvariantCulture);
}

if (arguments.TryGetValue("inner-folds", out var innerFolds))
{
    TaskModelTrainer.InnerFolds = int.Parse(innerFolds, CultureInfo.InvariantCulture);
}

if (arguments.TryGetValue("split-seed", out var splitSeed))
{
    LabelledRow.FoldSalt = splitSeed + ":";
}

TaskRules.Enabled = !arguments.ContainsKey("no-rules");
if (arguments.TryGetValue("lex", out var lex))
{
    var parts = lex.Split(',');
    TaskModelTrainer.LexicalWeight = float.Parse(parts[0], CultureInfo.InvariantCulture);
    TaskModelTrainer.LexicalWeightFast = float.Parse(parts[1], CultureInfo.InvariantCulture);
    TaskModelTrainer.LexicalL2 = double.Parse(parts[2], CultureInfo.InvariantCulture);
}

if (!Directory.Exists(data) && !File.Exists(data))
{
    Console.Error.WriteLine($"No labelled data at {data} (use --data DIR or --data FILE.jsonl).");
    Environment.ExitCode = 2;
    return;
}

var rows = LabelledData.Load(data, Console.WriteLine);
Console.WriteLine($"{rows.Count} rows from {data}; {rows.Count(r => r.Task is not null)} with a task label, {rows.Count(r => r.Risk is not null)} with a risk label");
using var generator = arguments.ContainsKey("no-embedding") ? null : new MiniLmEmbeddingGenerator(new MiniLmEmbeddingOptions { MaxTokens = maxTokens, Quantize = quantize });
var tag = $"minilm{(quantize ? "-int8" : "")}-{maxTokens}-{options.EmbeddingHeadChars}-{options.EmbeddingTailChars}";
var examples = FeatureSet.Build(rows, generator, tag, cache, options);
var labelled = examples.Where(e => e.Row.Task is not null).ToList();

// Each row is scored by a model that never saw it: fold f is predicted by the model trained on the other fold.
var folds = int.Parse(arguments.GetValueOrDefault("folds", "2"), CultureInfo.InvariantCulture);
var models = new TaskModel[folds];
if (shipped)
{
    Array.Fill(models, TaskModel.LoadEmbedded());
    Console.WriteLine("model: the shipped (embedded) model; rows it was trained on are NOT held out");
}
else
{
    for (var fold = 0; fold < folds; fold++)
    {
        var train = labelled.Where(e => e.Row.FoldOf(folds) != fold).ToList();
        if (train.Count == 0)
        {
            // A file of a handful of rows can leave a fold nothing to fit on.
            Console.WriteLine($"fold {fold}: no labelled rows outside it to train on; its rows are scored by the shipped model");
            models[fold] = TaskModel.LoadEmbedded();
            continue;
        }

        models[fold] = new TaskModel(TaskModelTrainer.Train(train, $"cross-fit fold {fold}", tag));
    }

    Console.WriteLine($"model: {folds}-fold cross-fit by FNV-1a(id) mod {folds}; fold sizes {string.Join(" / ", Enumerable.Range(0, folds).Select(f => labelled.Count(e => e.Row.FoldOf(folds) == f)))}");
}

var analyzers = models.Select(m => new RequestAnalyzer(Options.Create(options), m, new ComplexityEstimator())).ToArray();

foreach (var useEmbedding in generator is null ? new[] { false } : [true, false])
{
    var predictions = new List<(Example Example, RequestProfile Profile)>();
    foreach (var e in labelled)
    {
        var embedding = useEmbedding ? e.Embedding : [];
        predictions.Add((e, analyzers[e.Row.FoldOf(folds)].Analyze(e.Request, embedding)));
    }

    var title = useEmbedding ? "TASK TYPE — embedding + keywords" : "TASK TYPE — keywords only (fast path)";
    Report.Task(title + " — whole file", predictions.Select(p => (p.Example.Row.Task!.Value, p.Profile.Task.Type)).ToList(), full: true);
    if (!shipped)
    {
        for (var fold = 0; fold < folds && folds == 2; fold++)
        {
            Report.Task($"{title} — fold {fold} (model fitted on fold {1 - fold})", predictions.Where(p => p.Example.Row.FoldOf(2) == fold).Select(p => (p.Example.Row.Task!.Value, p.Profile.Task.Type)).ToList(), full: false);
        }
    }

    if (verbose)
    {
        foreach (var (e, p) in predictions.Where(p => p.Example.Row.Task != p.Profile.Task.Type))
        {
            Console.WriteLine($"  MISS {e.Row.Id,-22} {e.Row.Task!.Value.ToWireName(),-16} -> {p.Task.Type.ToWireName(),-16} {p.Task.Confidence:F2} | {Report.Clip(e.Row.Prompt, 90)}");
        }
    }

    // Follow-up turns: the conversation [prompt, answer, follow-up] should keep the first turn's task.
    var followUps = labelled.Where(e => e.Row.FollowUps.Count > 0).ToList();
    if (followUps.Count > 0)
    {
        var kept = 0;
        var flagged = 0;
        foreach (var e in followUps)
        {
            var request = new AnalysisRequest([
                new AnalysisMessage("user", e.Row.Prompt),
                new AnalysisMessage("assistant", "(previous answer)"),
                new AnalysisMessage("user", e.Row.FollowUps[0])]);
            var analyzer = analyzers[e.Row.FoldOf(folds)];
            var embedding = useEmbedding && generator is not null
                ? generator.GenerateAsync([analyzer.GetEmbeddingText(request)]).GetAwaiter().GetResult()[0].Vector
                : default;
            var profile = analyzer.Analyze(request, embedding);
            kept += profile.Task.Type == e.Row.Task ? 1 : 0;
            flagged += profile.IsFollowUp ? 1 : 0;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FOLLOW-UP turns ({followUps.Count} two-turn conversations): task equals the first turn's label in {kept} ({100.0 * kept / followUps.Count:F1}%); treated as follow-up edit in {flagged}"));
        Console.WriteLine();
    }
}

Report.Risk(rows.Where(r => r.Risk is not null).Select(r => (r, RiskAssessor.Assess(r.Prompt))).ToList(), verbose);
Report.Language(rows.Where(r => r.Language is not null).Select(r => (r, LanguageDetector.Detect(r.Prompt).Language)).ToList(), verbose);
