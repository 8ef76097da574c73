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
/// <param name="DemotedModels">Models that go last among their tier's candidates in one (task, band), keyed by
/// <see cref="DemotionKey"/>, with the evidence.</param>
public sealed record RoutingWeights(
    long Version,
    DateTimeOffset ComputedAt,
    IReadOnlyDictionary<string, TierAdjustment> Adjustments,
    IReadOnlyDictionary<string, string> DemotedModels)
{
    private static readonly IReadOnlyDictionary<string, string> NoDemotions = new Dictionary<string, string>();
    private readonly IReadOnlyDictionary<string, string> _demotedModels = DemotedModels;
    private readonly Dictionary<(TaskType, ComplexityBand), IReadOnlyDictionary<string, string>> _demotedByCell = ByCell(DemotedModels);

    /// <summary>No learned adjustments.</summary>
    public static RoutingWeights Empty { get; } = new(0, DateTimeOffset.MinValue, new Dictionary<string, TierAdjustment>(), new Dictionary<string, string>());

    /// <summary>Models that go last among their tier's candidates in one (task, band), keyed by <see cref="DemotionKey"/>.</summary>
    public IReadOnlyDictionary<string, string> DemotedModels
    {
        get => _demotedModels;
        init
        {
            _demotedModels = value;
            _demotedByCell = ByCell(value);
        }
    }

    /// <summary>The estimates the snapshot was computed from (for <c>GET /admin/weights</c>).</summary>
    public IReadOnlyList<QualityEstimate> Evidence { get; init; } = [];

    /// <summary>The key of a (task, band) pair, e.g. <c>coding/high</c>.</summary>
    public static string Key(TaskType task, ComplexityBand band) => task.ToWireName() + "/" + band.ToWire();

    /// <summary>The adjustment for a (task, band), if any.</summary>
    public TierAdjustment? For(TaskType task, ComplexityBand band) => Adjustments.GetValueOrDefault(Key(task, band));

    /// <summary>The key of a model's demotion in a (task, band), e.g. <c>extraction/high/gpt-4o-mini</c>.</summary>
    public static string DemotionKey(string key, string model) => key + "/" + model;

    /// <summary>Model ids demoted in a (task, band), with the evidence; a model weak at one task stays first at others.</summary>
    public IReadOnlyDictionary<string, string> DemotedIn(TaskType task, ComplexityBand band) =>
        _demotedByCell.GetValueOrDefault((task, band)) ?? NoDemotions;

    // Task and band names hold no '/', so the model id is whatever follows the second one (ids such as azure/gpt-4o
    // have their own). Keys of another shape, such as a model id alone from an older snapshot, demote nothing.
    private static Dictionary<(TaskType, ComplexityBand), IReadOnlyDictionary<string, string>> ByCell(IReadOnlyDictionary<string, string> demoted)
    {
        var cells = new Dictionary<(TaskType, ComplexityBand), Dictionary<string, string>>();
        foreach (var (key, evidence) in demoted)
        {
            var first = key.IndexOf('/', StringComparison.Ordinal);
            var second = first < 0 ? -1 : key.IndexOf('/', first + 1);
            if (second < 0 || second == key.Length - 1
                || !TaskTypeNames.TryParse(key[..first], out var task) || !ComplexityBands.TryParse(key[(first + 1)..second], out var band))
            {
                continue;
            }

            if (!cells.TryGetValue((task, band), out var models))
            {
                cells[(task, band)] = models = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            }

            models[key[(second + 1)..]] = evidence;
        }

        return cells.ToDictionary(c => c.Key, c => (IReadOnlyDictionary<string, string>)c.Value);
    }
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
