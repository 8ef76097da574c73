using Router.Core.Analysis;
using Router.Core.Catalog;
using Router.Core.Routing;

namespace Router.Core.Weights;

/// <summary>A learned floor for one (task, complexity band): routing sends it to at least <see cref="Floor"/>.</summary>
/// <param name="Floor">Lowest tier the band may use.</param>
/// <param name="Evidence">Why, for the decision's reasons (audit counts and quality estimate).</param>
public sealed record TierAdjustment(ModelTier Floor, string Evidence);

/// <summary>What audits say about one model in one (task, band): a time-decayed Beta posterior over
/// "equivalent or better than the premium reference".</summary>
/// <param name="Key">The (task, band) key.</param>
/// <param name="Model">The audited model.</param>
/// <param name="Tier">Its tier.</param>
/// <param name="Audits">Audits counted (before decay).</param>
/// <param name="EffectiveAudits">Decayed weight of those audits.</param>
/// <param name="Mean">Posterior mean of the share of answers at least as good as premium.</param>
/// <param name="Lower">Lower credible bound.</param>
/// <param name="Upper">Upper credible bound.</param>
public sealed record QualityEstimate(string Key, string Model, ModelTier Tier, int Audits, double EffectiveAudits, double Mean, double Lower, double Upper);

/// <summary>A versioned snapshot of what audits taught routing; empty until the first recompute.</summary>
/// <param name="Version">Monotonic version; 0 is the empty snapshot.</param>
/// <param name="ComputedAt">When it was computed.</param>
/// <param name="Adjustments">Tier floors keyed by <see cref="Key"/>.</param>
/// <param name="DemotedModels">Model ids that go last among their tier's candidates, with the evidence.</param>
public sealed record RoutingWeights(
    long Version,
    DateTimeOffset ComputedAt,
    IReadOnlyDictionary<string, TierAdjustment> Adjustments,
    IReadOnlyDictionary<string, string> DemotedModels)
{
    /// <summary>No learned adjustments.</summary>
    public static RoutingWeights Empty { get; } = new(0, DateTimeOffset.MinValue, new Dictionary<string, TierAdjustment>(), new Dictionary<string, string>());

    /// <summary>The estimates the snapshot was computed from (for <c>GET /admin/weights</c>).</summary>
    public IReadOnlyList<QualityEstimate> Evidence { get; init; } = [];

    /// <summary>The key of a (task, band) pair, e.g. <c>coding/high</c>.</summary>
    public static string Key(TaskType task, ComplexityBand band) => task.ToWireName() + "/" + band.ToWire();

    /// <summary>The adjustment for a (task, band), if any.</summary>
    public TierAdjustment? For(TaskType task, ComplexityBand band) => Adjustments.GetValueOrDefault(Key(task, band));
}

/// <summary>The snapshot routers use now; the weights stage replaces it.</summary>
public interface IRoutingWeightsSource
{
    /// <summary>The current snapshot.</summary>
    RoutingWeights Current { get; }
}

/// <summary>Holds the current snapshot in memory; swapped atomically.</summary>
public sealed class RoutingWeightsHolder : IRoutingWeightsSource
{
    private RoutingWeights _current = RoutingWeights.Empty;

    /// <inheritdoc />
    public RoutingWeights Current => Volatile.Read(ref _current);

    /// <summary>Replaces the snapshot if <paramref name="weights"/> is newer; returns whether it did.</summary>
    public bool TryUpdate(RoutingWeights weights)
    {
        while (true)
        {
            var current = Volatile.Read(ref _current);
            if (weights.Version <= current.Version)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _current, weights, current) == current)
            {
                return true;
            }
        }
    }
}
