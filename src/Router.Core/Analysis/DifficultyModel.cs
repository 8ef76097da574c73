using System.Numerics.Tensors;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Router.Core.Analysis;

/// <summary>
/// The learned weights behind the complexity estimate: two logistic heads that estimate how often the economy and the
/// premium model fail a prompt, from structural features and (when an embedding is given) the failure rates of the
/// nearest topic prototypes and training prompts. Trained offline (<c>bench/Router.Evaluation</c>, verb <c>train</c>)
/// and loaded from a JSON artefact embedded in Router.Core.
/// </summary>
public sealed class DifficultyModel
{
    /// <summary>Schema version of the artefact this code reads.</summary>
    public const int CurrentVersion = 3;

    private const string ResourceName = "Router.Core.Analysis.difficulty-model.json";
    private static readonly Lazy<DifficultyModel> LazyDefault = new(LoadDefault);

    private readonly float[] _prototypes;
    private readonly int _prototypeCount;

    internal DifficultyModel(DifficultyModelData data)
    {
        if (data.Version != CurrentVersion)
        {
            throw new InvalidDataException($"Difficulty model version {data.Version} is not supported (expected {CurrentVersion}).");
        }

        Data = data;
        _prototypes = HalfCodec.Decode(data.Prototypes);
        Exemplars = ExemplarIndex.FromData(data);
        _prototypeCount = data.PrototypeWeakFail.Length;
        if (_prototypes.Length != _prototypeCount * data.Dimensions)
        {
            throw new InvalidDataException("Difficulty model prototypes do not match their failure rates.");
        }

        if (data.FeatureMean.Length != StructuralFeatures.Count || data.FastWeakFail.Weights.Length != DifficultyFeatures.FastCount
            || data.FullWeakFail.Weights.Length != DifficultyFeatures.FullCount)
        {
            throw new InvalidDataException("Difficulty model weights do not match this code's feature layout (retrain with Router.Evaluation train).");
        }

        if (data.FastGainPercentiles.Length < 2 || data.FullGainPercentiles.Length < 2)
        {
            throw new InvalidDataException("Difficulty model gain percentiles are missing.");
        }
    }

    /// <summary>The model compiled into this assembly (its <see cref="Provenance"/> names the data it was trained on).</summary>
    public static DifficultyModel Default => LazyDefault.Value;

    /// <summary>Embedding size the learned component expects (384 for MiniLM).</summary>
    public int Dimensions => Data.Dimensions;

    /// <summary>Where the weights came from (data, split, date).</summary>
    public string Provenance => Data.Provenance;

    internal DifficultyModelData Data { get; }

    /// <summary>The nearest-exemplar index, when the artefact has one.</summary>
    internal ExemplarIndex? Exemplars { get; }

    /// <summary>Reads an artefact written by <see cref="Save"/>.</summary>
    public static DifficultyModel Load(Stream json)
    {
        var data = JsonSerializer.Deserialize(json, DifficultyModelJsonContext.Default.DifficultyModelData)
            ?? throw new InvalidDataException("Empty difficulty model.");
        return new DifficultyModel(data);
    }

    /// <summary>Writes the artefact as indented JSON.</summary>
    public void Save(Stream json) => JsonSerializer.Serialize(json, Data, DifficultyModelJsonContext.Default.DifficultyModelData);

    /// <summary>
    /// Failure rates of the prototypes nearest to <paramref name="embedding"/>, similarity-weighted, as log-odds.
    /// </summary>
    internal (double WeakFail, double StrongFail) NeighbourFailureLogits(ReadOnlySpan<float> embedding) =>
        NeighbourFailureLogits(embedding, _prototypes, Data.Dimensions, Data.PrototypeWeakFail, Data.PrototypeStrongFail, Data.PrototypeMass, Data.PrototypeTemperature, Data.PrototypeTop);

    /// <summary>Similarity-weighted failure rates of the <paramref name="top"/> nearest prototypes, as log-odds.</summary>
    internal static (double WeakFail, double StrongFail) NeighbourFailureLogits(
        ReadOnlySpan<float> embedding, ReadOnlySpan<float> prototypes, int dimensions, double[] weakFail, double[] strongFail, double[] mass, double temperature, int top)
    {
        var count = weakFail.Length;
        top = Math.Min(top, count);
        Span<float> bestSim = stackalloc float[top];
        Span<int> bestIdx = stackalloc int[top];
        bestSim.Fill(float.MinValue);
        for (var c = 0; c < count; c++)
        {
            var s = TensorPrimitives.Dot(embedding, prototypes.Slice(c * dimensions, dimensions));
            if (s <= bestSim[top - 1])
            {
                continue;
            }

            var k = top - 1;
            while (k > 0 && bestSim[k - 1] < s)
            {
                bestSim[k] = bestSim[k - 1];
                bestIdx[k] = bestIdx[k - 1];
                k--;
            }

            bestSim[k] = s;
            bestIdx[k] = c;
        }

        double wf = 0, sf = 0, den = 0;
        for (var k = 0; k < top; k++)
        {
            var c = bestIdx[k];
            var w = Math.Exp(temperature * (bestSim[k] - 1)) * mass[c];
            wf += w * weakFail[c];
            sf += w * strongFail[c];
            den += w;
        }

        return (Logit(wf / den), Logit(sf / den));
    }

    internal static double Logit(double p)
    {
        p = Math.Clamp(p, 1e-4, 1 - 1e-4);
        return Math.Log(p / (1 - p));
    }

    private static DifficultyModel LoadDefault()
    {
        using var stream = typeof(DifficultyModel).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {ResourceName} is missing.");
        return Load(stream);
    }
}

/// <summary>A logistic head: weights over the feature layout, then the intercept.</summary>
internal sealed record LogisticHead(double[] Weights, double Bias)
{
    public double Logit(ReadOnlySpan<double> features) => TensorPrimitives.Dot(features, Weights.AsSpan(0, features.Length)) + Bias;
}

/// <summary>The serialised form of <see cref="DifficultyModel"/>.</summary>
internal sealed record DifficultyModelData
{
    public int Version { get; init; } = DifficultyModel.CurrentVersion;

    public string Provenance { get; init; } = "";

    public int Dimensions { get; init; } = 384;

    /// <summary>Mean and scale that standardise the structural features.</summary>
    public required double[] FeatureMean { get; init; }

    public required double[] FeatureScale { get; init; }

    /// <summary>Prototype unit vectors, row-major, as base64 of IEEE half floats.</summary>
    public required string Prototypes { get; init; }

    /// <summary>Smoothed mean economy-model failure (1 − quality) of the training prompts nearest each prototype.</summary>
    public required double[] PrototypeWeakFail { get; init; }

    public required double[] PrototypeStrongFail { get; init; }

    /// <summary>Weight of each prototype in the neighbour average (grows with its training mass).</summary>
    public required double[] PrototypeMass { get; init; }

    public double PrototypeTemperature { get; init; } = 20;

    public int PrototypeTop { get; init; } = 8;

    /// <summary>Principal directions the exemplars live in (input dimensions × exemplar dimensions, half floats).</summary>
    public string? ExemplarProjection { get; init; }

    /// <summary>Mean embedding subtracted before projecting (half floats).</summary>
    public string? ExemplarMean { get; init; }

    public int ExemplarDimensions { get; init; }

    /// <summary>Training prompts in the projected space, unit length, int8 (value × 127), row-major.</summary>
    public string? Exemplars { get; init; }

    /// <summary>Economy-model failure (1 − quality) per exemplar, as a byte 0–255.</summary>
    public string? ExemplarWeakFail { get; init; }

    public string? ExemplarStrongFail { get; init; }

    /// <summary>Heads over structural features only (the fast path, no embedding).</summary>
    public required LogisticHead FastWeakFail { get; init; }

    public required LogisticHead FastStrongFail { get; init; }

    /// <summary>Heads over structural and neighbour features (an embedding was given).</summary>
    public required LogisticHead FullWeakFail { get; init; }

    public required LogisticHead FullStrongFail { get; init; }

    /// <summary>Gain percentiles on reference traffic (fast path): entry i is the gain exceeded by i% of prompts; 101 entries, non-increasing.</summary>
    public required double[] FastGainPercentiles { get; init; }

    public required double[] FullGainPercentiles { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(DifficultyModelData))]
internal sealed partial class DifficultyModelJsonContext : JsonSerializerContext;

/// <summary>Stores float vectors as base64 of half floats: half the size of float32, ample precision for cosine.</summary>
internal static class HalfCodec
{
    public static string Encode(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 2, 2), (Half)values[i]);
        }

        return Convert.ToBase64String(bytes);
    }

    public static float[] Decode(string base64)
    {
        var bytes = Convert.FromBase64String(base64);
        var values = new float[bytes.Length / 2];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)BitConverter.ToHalf(bytes, i * 2);
        }

        return values;
    }
}
