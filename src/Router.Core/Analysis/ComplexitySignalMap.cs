using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Router.Core.Analysis;

/// <summary>
/// A complexity estimate's signals by name (<c>premium_gain</c>, <c>economy_failure</c>, <c>premium_failure</c>,
/// <c>embedding</c>, then each feature's contribution), built on first read: only <c>/v1/route</c> and diagnostics read
/// them, so routed traffic does not pay for a dictionary per request.
/// </summary>
/// <param name="estimate">The estimate.</param>
/// <param name="explainer">With <paramref name="prompt"/>: an estimate made without its signals (the fast path) is made
/// again with them, from the same text, on first read.</param>
/// <param name="prompt">The text the estimate was made from.</param>
internal sealed class ComplexitySignalMap(ComplexityEstimate estimate, ComplexityEstimator? explainer = null, string? prompt = null)
    : IReadOnlyDictionary<string, double>
{
    private Dictionary<string, double>? _named;

    private Dictionary<string, double> Named => _named ?? LazyInitializer.EnsureInitialized(ref _named, () =>
        Build(explainer is not null && prompt is not null ? explainer.Estimate(prompt) : estimate));

    public double this[string key] => Named[key];

    public IEnumerable<string> Keys => Named.Keys;

    public IEnumerable<double> Values => Named.Values;

    public int Count => Named.Count;

    public bool ContainsKey(string key) => Named.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out double value) => Named.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, double>> GetEnumerator() => Named.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static Dictionary<string, double> Build(ComplexityEstimate estimate)
    {
        var named = new Dictionary<string, double>(estimate.Signals.Count + 4, StringComparer.Ordinal)
        {
            ["premium_gain"] = estimate.PremiumGain,
            ["economy_failure"] = estimate.EconomyFailure,
            ["premium_failure"] = estimate.PremiumFailure,
            ["embedding"] = estimate.UsedEmbedding ? 1 : 0,
        };
        foreach (var signal in estimate.Signals)
        {
            named[signal.Name] = signal.Contribution;
        }

        return named;
    }
}
