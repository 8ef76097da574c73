using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.AI;
using Router.Core.Analysis;

namespace Router.Analysis.Training;

/// <summary>A row's task-model inputs: the embedding of its bounded window and its keyword features.</summary>
internal sealed record Example(LabelledRow Row, AnalysisRequest Request, float[] Embedding, float[] Features, int[] Buckets);

/// <summary>Builds <see cref="Example"/>s through the analyzer's own input code, caching embeddings on disk by text hash.</summary>
internal static class FeatureSet
{
    public static List<Example> Build(
        IReadOnlyList<LabelledRow> rows,
        IEmbeddingGenerator<string, Embedding<float>>? generator,
        string cacheTag,
        string? cacheDirectory,
        RequestAnalyzerOptions? options = null)
    {
        options ??= new RequestAnalyzerOptions();
        var cache = LoadCache(cacheDirectory, cacheTag);
        var examples = new List<Example>(rows.Count);
        var missing = 0;
        foreach (var row in rows)
        {
            var request = AnalysisRequest.FromPrompt(row.Prompt);
            var (text, features, buckets) = RequestAnalyzer.TaskInputs(request, options);
            float[] embedding = [];
            if (generator is not null && text.Length > 0)
            {
                var key = Key(text);
                if (!cache.TryGetValue(key, out embedding!))
                {
                    embedding = generator.GenerateAsync([text]).GetAwaiter().GetResult()[0].Vector.ToArray();
                    cache[key] = embedding;
                    missing++;
                }
            }

            examples.Add(new Example(row, request, embedding, features, buckets));
        }

        if (missing > 0)
        {
            SaveCache(cacheDirectory, cacheTag, cache);
        }

        return examples;
    }

    public static float[] Concat(float[] embedding, float[] features)
    {
        var input = new float[embedding.Length + features.Length];
        embedding.CopyTo(input, 0);
        features.CopyTo(input, embedding.Length);
        return input;
    }

    private static string Key(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];

    private static Dictionary<string, float[]> LoadCache(string? directory, string tag)
    {
        var cache = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (directory is null)
        {
            return cache;
        }

        var path = Path.Combine(directory, $"embeddings-{tag}.bin");
        if (!File.Exists(path))
        {
            return cache;
        }

        using var reader = new BinaryReader(File.OpenRead(path));
        var count = reader.ReadInt32();
        for (var i = 0; i < count; i++)
        {
            var key = reader.ReadString();
            var length = reader.ReadInt32();
            var vector = new float[length];
            for (var j = 0; j < length; j++)
            {
                vector[j] = reader.ReadSingle();
            }

            cache[key] = vector;
        }

        return cache;
    }

    private static void SaveCache(string? directory, string tag, Dictionary<string, float[]> cache)
    {
        if (directory is null)
        {
            return;
        }

        Directory.CreateDirectory(directory);
        using var writer = new BinaryWriter(File.Create(Path.Combine(directory, $"embeddings-{tag}.bin")));
        writer.Write(cache.Count);
        foreach (var (key, vector) in cache)
        {
            writer.Write(key);
            writer.Write(vector.Length);
            foreach (var v in vector)
            {
                writer.Write(v);
            }
        }
    }
}

/// <summary>Fits the full (embedding + keywords) and fast (keywords only) task models.</summary>
internal static class TaskModelTrainer
{
    public static double FullL2 { get; set; } = 0.02;

    public static double FastL2 { get; set; } = 0.02;

    public static int Iterations { get; set; } = 600;

    public static float FastWeight { get; set; } = 0.3f;

    public static float FastWeightNonLatin { get; set; } = 0.6f;

    public static float KeywordBoost { get; set; } = 1f;

    public static float LexicalWeight { get; set; } = 0.3f;

    public static float LexicalWeightFast { get; set; } = 0.4f;

    public static double LexicalL2 { get; set; } = 0.001;

    /// <summary>Inner folds of the training rows on which the keyword-path lexical weight is chosen (below 2: the fixed <see cref="LexicalWeightFast"/>).</summary>
    public static int InnerFolds { get; set; } = 3;

    /// <summary>Candidates for the keyword-path lexical weight.</summary>
    public static float[] LexicalWeightFastGrid { get; set; } = [0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f];

    /// <summary>Fits both models on the rows with a task label; there must be at least one.</summary>
    public static TaskModelFile Train(IReadOnlyList<Example> examples, string description, string embeddingModel)
    {
        if (!examples.Any(e => e.Row.Task is not null))
        {
            throw new ArgumentException("No rows with a task label to train on.", nameof(examples));
        }

        var file = Fit(examples, description, embeddingModel);
        return InnerFolds >= 2 ? ChooseLexicalWeightFast(file, [.. examples.Where(e => e.Row.Task is not null)], description, embeddingModel) : file;
    }

    /// <summary>
    /// Chooses the keyword-path blend weight of the lexical layer on held-out rows of the training data only: the rows are
    /// split into <see cref="InnerFolds"/> parts by a hash of their id (independent of any outer split), each part is
    /// predicted by a model fitted on the others, and the weight with the best macro-F1 over those predictions is kept.
    /// (Tried for the embedding path's weights and for per-class offsets too: chosen that way they did worse on held-out rows.)
    /// </summary>
    private static TaskModelFile ChooseLexicalWeightFast(TaskModelFile file, List<Example> labelled, string description, string embeddingModel)
    {
        var folds = InnerFolds;
        var foldOf = labelled.Select(e => (int)(LabelledRow.Fnv1a("inner:" + e.Row.Id) % (uint)folds)).ToArray();
        if (Enumerable.Range(0, folds).Any(f => foldOf.All(g => g == f)))
        {
            // A handful of rows can all fall in one inner fold, leaving nothing to fit on: keep the fixed weight.
            Console.WriteLine($"  inner {folds}-fold: too few rows ({labelled.Count}) to choose the keyword-path lexical weight; keeping {file.LexicalWeightFast}");
            return file;
        }

        var subModels = new TaskModelFile[folds];
        for (var f = 0; f < folds; f++)
        {
            subModels[f] = Fit([.. labelled.Where((_, i) => foldOf[i] != f)], description, embeddingModel);
        }

        var labels = labelled.Select(e => (int)e.Row.Task!.Value).ToArray();
        var complexity = new ComplexityEstimator();
        var options = Microsoft.Extensions.Options.Options.Create(new RequestAnalyzerOptions());
        var best = (Score: double.NegativeInfinity, Weight: file.LexicalWeightFast);
        foreach (var weight in LexicalWeightFastGrid.Prepend(file.LexicalWeightFast))
        {
            var analyzers = subModels.Select(m => new RequestAnalyzer(options, new TaskModel(m with { LexicalWeightFast = weight }), complexity)).ToArray();
            var predicted = labelled.Select((e, i) => ArgMax(analyzers[foldOf[i]].TaskProbabilities(e.Request, []))).ToArray();
            var score = ClassMetrics.Macro(ClassMetrics.Confusion(labels.Zip(predicted), file.Classes.Length)).MacroF1;
            if (score > best.Score + 1e-9)
            {
                best = (score, weight);
            }
        }

        Console.WriteLine($"  inner {folds}-fold: keyword-path lexical weight {best.Weight} (macro-F1 {best.Score:F3} on held-out training rows)");
        return file with
        {
            Description = $"{file.Description} Keyword-path lexical weight {best.Weight} chosen by {folds}-fold inner cross-validation.",
            LexicalWeightFast = best.Weight,
        };
    }

    private static int ArgMax(float[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }

    private static TaskModelFile Fit(IReadOnlyList<Example> examples, string description, string embeddingModel)
    {
        var labelled = examples.Where(e => e.Row.Task is not null).ToList();
        var labels = labelled.Select(e => (int)e.Row.Task!.Value).ToList();
        var classes = TaskTypeNames.All.Count;
        var withEmbedding = labelled.Where(e => e.Embedding.Length > 0).ToList();
        var dimensions = withEmbedding.Count > 0 ? withEmbedding[0].Embedding.Length : 0;
        var fast = SoftmaxRegression.Fit(labelled.Select(e => e.Features).ToList(), labels, classes, FastL2, Iterations);
        var full = dimensions > 0
            ? SoftmaxRegression.Fit(
                withEmbedding.Select(e => FeatureSet.Concat(e.Embedding, e.Features)).ToList(),
                withEmbedding.Select(e => (int)e.Row.Task!.Value).ToList(),
                classes,
                FullL2,
                Iterations)
            : fast;
        if (dimensions > 0 && KeywordBoost != 1f)
        {
            // Dividing the stored scale multiplies the standardised keyword inputs, which lowers their effective L2 penalty.
            full = SoftmaxRegression.Fit(
                withEmbedding.Select(e => FeatureSet.Concat(e.Embedding, e.Features)).ToList(),
                withEmbedding.Select(e => (int)e.Row.Task!.Value).ToList(),
                classes,
                FullL2,
                Iterations,
                inputBoost: j => j >= dimensions ? KeywordBoost : 1f);
        }
        return new TaskModelFile
        {
            Description = description,
            Classes = [.. TaskTypeNames.All.Select(t => t.ToWireName())],
            FeatureNames = [.. TaskFeatures.Names],
            EmbeddingDimensions = dimensions > 0 ? dimensions : 0,
            EmbeddingModel = embeddingModel,
            Full = full,
            Fast = fast,
            FastWeight = dimensions > 0 ? FastWeight : 0,
            FastWeightNonLatin = dimensions > 0 ? FastWeightNonLatin : 0,
            Lexical = SparseSoftmaxRegression.Fit(labelled.Select(e => e.Buckets).ToList(), labels, classes, LexicalFeatures.Buckets, LexicalL2, Iterations),
            LexicalWeight = LexicalWeight,
            LexicalWeightFast = LexicalWeightFast,
        };
    }
}
