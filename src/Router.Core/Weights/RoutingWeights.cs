using Router.Core.Analysis;
using Router.Core.Routing;

namespace Router.Core.Weights;

/// <summary>A learned change to routing for one (task, complexity band): raise or lower the tier, with its evidence.</summary>
/// <param name="TierDelta">+1 escalates one tier, -1 lowers one; 0 is neutral.</param>
/// <param name="Evidence">Why, for the decision's reasons (audit counts and quality estimate).</param>
public sealed record TierAdjustment(int TierDelta, string Evidence);

/// <summary>A versioned snapshot of what audits taught routing; empty until the first recompute.</summary>
/// <param name="Version">Monotonic version; 0 is the empty snapshot.</param>
/// <param name="ComputedAt">When it was computed.</param>
/// <param name="Adjustments">Tier adjustments keyed by <see cref="Key"/>.</param>
/// <param name="DemotedModels">Model ids that go last among their tier's candidates, with the evidence.</param>
public sealed record RoutingWeights(
    long Version,
    DateTimeOffset ComputedAt,
    IReadOnlyDictionary<string, TierAdjustment> Adjustments,
    IReadOnlyDictionary<string, string> DemotedModels)
{
    /// <summary>No learned adjustments.</summary>
    public static RoutingWeights Empty { get; } = new(0, DateTimeOffset.MinValue, new Dictionary<string, TierAdjustment>(), new Dictionary<string, string>());

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
