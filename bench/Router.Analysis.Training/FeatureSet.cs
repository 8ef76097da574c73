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

    public static TaskModelFile Train(IReadOnlyList<Example> examples, string description, string embeddingModel)
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
