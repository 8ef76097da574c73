namespace Router.Core.Analysis;

/// <summary>
/// Estimates how much a prompt needs a premium model: the chance that an economy model fails minus the chance that a
/// premium model fails, calibrated to a 1–10 complexity scale on reference traffic. Without an embedding it uses
/// structural signals only (the fast path, allocation-free in <see cref="FastScale"/>); with the prompt's sentence
/// embedding it adds the failure rates of the nearest topic prototypes and of the most similar training prompts.
/// Immutable and thread-safe: register one instance.
/// </summary>
public sealed class ComplexityEstimator
{
    private readonly DifficultyModel _model;

    /// <summary>Uses the model compiled into Router.Core.</summary>
    public ComplexityEstimator()
        : this(DifficultyModel.Default)
    {
    }

    /// <summary>Uses <paramref name="model"/> (for example one loaded from a newer artefact).</summary>
    public ComplexityEstimator(DifficultyModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
    }

    /// <summary>The weights in use.</summary>
    public DifficultyModel Model => _model;

    /// <summary>
    /// Estimates the complexity of <paramref name="prompt"/> (the routed user text). <paramref name="embedding"/> is the
    /// unit-length sentence embedding the analyzer computed for the request (<see cref="DifficultyModel.Dimensions"/>
    /// values), or empty for the fast path; a vector of another length also takes the fast path.
    /// With <paramref name="explain"/> false the estimate carries no <see cref="ComplexityEstimate.Signals"/> (the same
    /// call with it true gives them, with the same numbers).
    /// </summary>
    public ComplexityEstimate Estimate(ReadOnlySpan<char> prompt, ReadOnlySpan<float> embedding = default, bool explain = true)
    {
        var data = _model.Data;
        var signals = PromptSignals.Extract(prompt);
        var useEmbedding = embedding.Length == data.Dimensions && data.Dimensions > 0;
        (double Weak, double Strong)? neighbours = useEmbedding ? _model.NeighbourFailureLogits(embedding) : null;
        (double, double, double, double)? exemplars = null;
        if (useEmbedding && _model.Exemplars is { } index)
        {
            Span<float> projected = stackalloc float[data.ExemplarDimensions];
            index.Project(embedding, projected);
            exemplars = index.Features(projected);
        }

        Span<double> raw = stackalloc double[StructuralFeatures.Count];
        Span<double> x = stackalloc double[DifficultyFeatures.FullCount];
        DifficultyFeatures.Fill(data.FeatureMean, data.FeatureScale, signals, raw, x, neighbours, exemplars);
        var weakHead = useEmbedding ? data.FullWeakFail : data.FastWeakFail;
        var strongHead = useEmbedding ? data.FullStrongFail : data.FastStrongFail;
        var n = useEmbedding ? DifficultyFeatures.FullCount : DifficultyFeatures.FastCount;
        var pw = Sigmoid(weakHead.Logit(x[..n]));
        var ps = Sigmoid(strongHead.Logit(x[..n]));
        var gain = pw - ps;

        var scale = ToScale(gain, useEmbedding ? data.FullGainPercentiles : data.FastGainPercentiles);
        if (!explain)
        {
            return new ComplexityEstimate(ToLevel(scale), scale, gain, pw, ps, [], useEmbedding);
        }

        // First-order attribution of the gain: d(pw - ps) = pw(1-pw) d(weak logit) - ps(1-ps) d(strong logit).
        var signalsOut = new List<ComplexitySignal>(StructuralFeatures.Count + 1);
        for (var j = 0; j < StructuralFeatures.Count; j++)
        {
            var c = Attribution(weakHead, strongHead, x, j, pw, ps) + Attribution(weakHead, strongHead, x, StructuralFeatures.Count + j, pw, ps);
            signalsOut.Add(new ComplexitySignal(StructuralFeatures.Names[j], raw[j], c));
        }

        if (neighbours is not null)
        {
            var c = 0.0;
            for (var j = DifficultyFeatures.FastCount; j < DifficultyFeatures.FullCount; j++)
            {
                c += Attribution(weakHead, strongHead, x, j, pw, ps);
            }

            signalsOut.Add(new ComplexitySignal("topic", neighbours.Value.Weak - neighbours.Value.Strong, c));
        }

        signalsOut.Sort(static (a, b) => Math.Abs(b.Contribution).CompareTo(Math.Abs(a.Contribution)));
        return new ComplexityEstimate(ToLevel(scale), scale, gain, pw, ps, signalsOut, useEmbedding);
    }

    /// <summary>The fast path's calibrated 1–10 scale (no embedding, no explanations); allocation-free.</summary>
    public double FastScale(ReadOnlySpan<char> prompt)
    {
        var data = _model.Data;
        var signals = PromptSignals.Extract(prompt);
        Span<double> raw = stackalloc double[StructuralFeatures.Count];
        Span<double> x = stackalloc double[DifficultyFeatures.FastCount];
        DifficultyFeatures.Fill(data.FeatureMean, data.FeatureScale, signals, raw, x, null);
        var pw = Sigmoid(data.FastWeakFail.Logit(x));
        var ps = Sigmoid(data.FastStrongFail.Logit(x));
        return ToScale(pw - ps, data.FastGainPercentiles);
    }

    /// <summary>The level reported for a scale value: rounded half away from zero, 1–10.</summary>
    public static int ToLevel(double scale) => Math.Clamp((int)Math.Round(scale, MidpointRounding.AwayFromZero), 1, 10);

    /// <summary>
    /// 1 + 9 × (share of reference traffic with a lower gain). <paramref name="percentiles"/> has 101 entries, entry i
    /// the gain exceeded by i% of reference prompts (non-increasing); between entries the share is interpolated.
    /// </summary>
    internal static double ToScale(double gain, double[] percentiles)
    {
        var last = percentiles.Length - 1;
        if (double.IsNaN(gain) || gain <= percentiles[last])
        {
            return 1;
        }

        if (gain >= percentiles[0])
        {
            return 10;
        }

        // Largest i with percentiles[i] >= gain; percentiles[i + 1] < gain.
        int lo = 0, hi = last;
        while (hi - lo > 1)
        {
            var mid = (lo + hi) / 2;
            if (percentiles[mid] >= gain)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        var width = percentiles[lo] - percentiles[hi];
        var t = width > 0 ? (percentiles[lo] - gain) / width : 0;
        var exceeded = (lo + t) / last;
        return 1 + (9 * (1 - exceeded));
    }

    private static double Attribution(LogisticHead weak, LogisticHead strong, ReadOnlySpan<double> x, int j, double pw, double ps) =>
        (pw * (1 - pw) * weak.Weights[j] * x[j]) - (ps * (1 - ps) * strong.Weights[j] * x[j]);

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));
}
