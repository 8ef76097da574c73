using System.Numerics.Tensors;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Router.Core.Analysis;

/// <summary>
/// Multinomial logistic regression over [standardised embedding, standardised keyword features] (the full model) and over
/// the keyword features alone (the fast model). Weights come from <c>task-model.json</c>, produced by the trainer.
/// </summary>
internal sealed class TaskModel
{
    private readonly LinearLayer _full;
    private readonly LinearLayer _fast;

    public TaskModel(TaskModelFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.Classes.Length != TaskTypeNames.All.Count)
        {
            throw new InvalidDataException($"Task model has {file.Classes.Length} classes, expected {TaskTypeNames.All.Count}.");
        }

        if (!file.FeatureNames.SequenceEqual(TaskFeatures.Names))
        {
            throw new InvalidDataException("Task model features do not match this build's feature extractor; retrain the model.");
        }

        Classes = new TaskType[file.Classes.Length];
        for (var i = 0; i < Classes.Length; i++)
        {
            if (!TaskTypeNames.TryParse(file.Classes[i], out Classes[i]))
            {
                throw new InvalidDataException($"Unknown task type '{file.Classes[i]}' in task model.");
            }
        }

        EmbeddingDimensions = file.EmbeddingDimensions;
        File = file;
        _full = new LinearLayer(file.Full, file.EmbeddingDimensions + TaskFeatures.Count);
        _fast = new LinearLayer(file.Fast, TaskFeatures.Count);
        _lexicalByBucket = ByBucket(file.Lexical.Weights);
    }

    // The lexical weights bucket-major, LexicalStride floats per bucket: a request's few dozen buckets then touch a cache
    // line or two each instead of one per class (13 times as many), which in a busy server, where these 200 KB are rarely
    // still cached, was most of the task model's time. Same products, summed in the same order.
    private const int LexicalStride = 16;
    private readonly float[] _lexicalByBucket;

    private static float[] ByBucket(float[][] weights)
    {
        if (weights.Length == 0 || weights.Length > LexicalStride)
        {
            return [];
        }

        var buckets = weights[0].Length;
        var byBucket = new float[buckets * LexicalStride];
        for (var c = 0; c < weights.Length; c++)
        {
            if (weights[c].Length != buckets)
            {
                throw new InvalidDataException("Task model lexical rows differ in length.");
            }

            for (var b = 0; b < buckets; b++)
            {
                byBucket[(b * LexicalStride) + c] = weights[c][b];
            }
        }

        return byBucket;
    }

    public TaskType[] Classes { get; }

    public int EmbeddingDimensions { get; }

    public TaskModelFile File { get; }

    /// <summary>Class probabilities in <see cref="Classes"/> order; uses the full model when an embedding of the right size is given.</summary>
    public bool Predict(ReadOnlySpan<float> embedding, ReadOnlySpan<float> keywordFeatures, ReadOnlySpan<int> lexicalBuckets, Span<float> probabilities)
    {
        var used = PredictDense(embedding, keywordFeatures, probabilities);
        var lexicalWeight = used ? File.LexicalWeight : File.LexicalWeightFast;
        if (lexicalWeight > 0 && File.Lexical.Bias.Length == probabilities.Length && lexicalBuckets.Length > 0)
        {
            Span<float> lexical = stackalloc float[probabilities.Length];
            var norm = 1f / MathF.Sqrt(lexicalBuckets.Length);
            File.Lexical.Bias.CopyTo(lexical);
            if (_lexicalByBucket.Length > 0)
            {
                foreach (var b in lexicalBuckets)
                {
                    var weights = _lexicalByBucket.AsSpan(b * LexicalStride, lexical.Length);
                    for (var c = 0; c < lexical.Length; c++)
                    {
                        lexical[c] += weights[c] * norm;
                    }
                }
            }
            else
            {
                for (var c = 0; c < lexical.Length; c++)
                {
                    var row = File.Lexical.Weights[c];
                    foreach (var b in lexicalBuckets)
                    {
                        lexical[c] += row[b] * norm;
                    }
                }
            }

            TensorPrimitives.SoftMax(lexical, lexical);
            for (var i = 0; i < probabilities.Length; i++)
            {
                probabilities[i] = ((1 - lexicalWeight) * MathF.Log(probabilities[i] + 1e-9f)) + (lexicalWeight * MathF.Log(lexical[i] + 1e-9f));
            }

            TensorPrimitives.SoftMax(probabilities, probabilities);
        }

        return used;
    }

    private bool PredictDense(ReadOnlySpan<float> embedding, ReadOnlySpan<float> keywordFeatures, Span<float> probabilities)
    {
        if (embedding.Length == EmbeddingDimensions)
        {
            Span<float> input = stackalloc float[EmbeddingDimensions + TaskFeatures.Count];
            embedding.CopyTo(input);
            keywordFeatures.CopyTo(input[EmbeddingDimensions..]);
            _full.Forward(input, probabilities);
            if (File.FastWeight > 0)
            {
                // Log-linear blend with the keyword model: steadier where the embedding is weak (non-Latin scripts).
                Span<float> fast = stackalloc float[probabilities.Length];
                Span<float> fastInput = stackalloc float[TaskFeatures.Count];
                keywordFeatures.CopyTo(fastInput);
                _fast.Forward(fastInput, fast);
                // The embedding model is English-centric; lean on the multilingual keyword cues for other scripts.
                var w = keywordFeatures[TaskFeatures.NonLatinIndex] > 0.5f ? MathF.Max(File.FastWeight, File.FastWeightNonLatin) : File.FastWeight;
                for (var i = 0; i < probabilities.Length; i++)
                {
                    probabilities[i] = ((1 - w) * MathF.Log(probabilities[i] + 1e-9f)) + (w * MathF.Log(fast[i] + 1e-9f));
                }

                TensorPrimitives.SoftMax(probabilities, probabilities);
            }

            return true;
        }

        Span<float> keywordsOnly = stackalloc float[TaskFeatures.Count];
        keywordFeatures.CopyTo(keywordsOnly);
        _fast.Forward(keywordsOnly, probabilities);
        return false;
    }

    /// <summary>Checks that a file loads into a model; returns it for chaining.</summary>
    public static TaskModelFile Validate(TaskModelFile file)
    {
        _ = new TaskModel(file);
        return file;
    }

    public static TaskModel LoadEmbedded()
    {
        using var stream = typeof(TaskModel).Assembly.GetManifestResourceStream("Router.Core.Analysis.task-model.json")
            ?? throw new InvalidOperationException("The embedded task model is missing from Router.Core.Analysis.");
        return new TaskModel(Read(stream));
    }

    public static TaskModelFile Read(Stream stream) =>
        JsonSerializer.Deserialize(stream, TaskModelJsonContext.Default.TaskModelFile)
        ?? throw new InvalidDataException("Empty task model file.");

    public static void Write(TaskModelFile file, Stream stream) =>
        JsonSerializer.Serialize(stream, file, TaskModelJsonContext.Default.TaskModelFile);

    private sealed class LinearLayer
    {
        private readonly float[] _mean;
        private readonly float[] _inverseScale;
        private readonly float[][] _weights;
        private readonly float[] _bias;

        public LinearLayer(LinearLayerFile file, int inputs)
        {
            if (file.Mean.Length != inputs || file.Scale.Length != inputs || file.Weights.Any(w => w.Length != inputs))
            {
                throw new InvalidDataException($"Task model layer does not have {inputs} inputs.");
            }

            _mean = file.Mean;
            _inverseScale = [.. file.Scale.Select(s => s > 1e-8f ? 1f / s : 0f)];
            _weights = file.Weights;
            _bias = file.Bias;
        }

        public void Forward(Span<float> input, Span<float> probabilities)
        {
            TensorPrimitives.Subtract(input, _mean, input);
            TensorPrimitives.Multiply(input, _inverseScale, input);
            for (var c = 0; c < _weights.Length; c++)
            {
                probabilities[c] = TensorPrimitives.Dot<float>(_weights[c], input) + _bias[c];
            }

            TensorPrimitives.SoftMax(probabilities[.._weights.Length], probabilities);
        }
    }
}

/// <summary>Serialized form of <see cref="TaskModel"/>.</summary>
internal sealed record TaskModelFile
{
    public int Version { get; init; } = 1;

    public string Description { get; init; } = "";

    public string[] Classes { get; init; } = [];

    public string[] FeatureNames { get; init; } = [];

    public int EmbeddingDimensions { get; init; }

    public string EmbeddingModel { get; init; } = "";

    public LinearLayerFile Full { get; init; } = new();

    public LinearLayerFile Fast { get; init; } = new();

    /// <summary>Weight of the keyword model in the log-linear blend when an embedding is present (0 = full model only).</summary>
    public float FastWeight { get; init; }

    /// <summary>The blend weight used instead when the text is not in Latin script.</summary>
    public float FastWeightNonLatin { get; init; }

    /// <summary>Hashed bag-of-words layer (<see cref="LexicalFeatures"/>); weights only, inputs are binary and length-normalised.</summary>
    public LinearLayerFile Lexical { get; init; } = new();

    /// <summary>Weight of the lexical layer in the blend when an embedding is present.</summary>
    public float LexicalWeight { get; init; }

    /// <summary>Weight of the lexical layer in the blend on the keyword-only path.</summary>
    public float LexicalWeightFast { get; init; }
}

/// <summary>One standardise-then-linear layer.</summary>
internal sealed record LinearLayerFile
{
    public float[] Mean { get; init; } = [];

    public float[] Scale { get; init; } = [];

    public float[][] Weights { get; init; } = [];

    public float[] Bias { get; init; } = [];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
[JsonSerializable(typeof(TaskModelFile))]
internal sealed partial class TaskModelJsonContext : JsonSerializerContext;
