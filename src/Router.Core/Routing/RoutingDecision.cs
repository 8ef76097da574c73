using Router.Core.Catalog;

namespace Router.Core.Routing;

/// <summary>Where a request goes and why.</summary>
public sealed record RoutingDecision
{
    /// <summary>The chosen tier.</summary>
    public required ModelTier Tier { get; init; }

    /// <summary>The first candidate.</summary>
    public CatalogModel Model => Candidates[0];

    /// <summary>Models in the order they will be tried.</summary>
    public required IReadOnlyList<CatalogModel> Candidates { get; init; }

    /// <summary>Human-readable reasons, in the order they applied.</summary>
    public required IReadOnlyList<string> Reasons { get; init; }

    /// <summary>Names of the tenant rules that matched.</summary>
    public IReadOnlyList<string> RulesFired { get; init; } = [];

    /// <summary>The cost/quality knob used.</summary>
    public double Quality { get; init; }

    /// <summary>The prompt's own complexity, before the knob and rule caps: the band audits are filed under.</summary>
    public double Complexity { get; init; }

    /// <summary>Complexity after rule caps and the knob, as looked up in the table.</summary>
    public double EffectiveComplexity { get; init; }

    /// <summary>The tier the table chose when learned weights raised it (the tier audits keep probing), else null.</summary>
    public ModelTier? RaisedFrom { get; init; }

    /// <summary>The band whose learned floor raised the tier (it can be a lower band than the request's, whose floor holds
    /// for the bands above it): probes are filed there, as evidence for that raise.</summary>
    public ComplexityBand? RaisedIn { get; init; }

    /// <summary>A tenant rule pinned the model: only <see cref="Candidates"/> may answer, from the provider or the cache.</summary>
    public bool PinnedByRule { get; init; }

    /// <summary>A rule turned the cache off.</summary>
    public bool CacheDisabled { get; init; }

    /// <summary>A rule asked for this answer to be audited.</summary>
    public bool ForceAudit { get; init; }

    /// <summary>Estimated cost on the first candidate (prompt tokens and expected output).</summary>
    public decimal EstimatedCostUsd { get; init; }

    /// <summary>The same estimate on the baseline model.</summary>
    public decimal BaselineCostUsd { get; init; }
}
