using System.ComponentModel.DataAnnotations;
using Router.Core.Catalog;

namespace Router.Core.Routing;

/// <summary>Automatic routing settings (section <c>Router:Routing</c>).</summary>
public sealed class RoutingOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Router:Routing";

    /// <summary>Routing table, first match wins; empty means <see cref="RoutingTable.Defaults"/>.</summary>
    public List<RoutingTableEntry> Table { get; set; } = [];

    /// <summary>Lowest tier for medium-risk requests (default Standard).</summary>
    public ModelTier MediumRiskMinimumTier { get; set; } = ModelTier.Standard;

    /// <summary>Lowest tier for high-risk requests (default Premium).</summary>
    public ModelTier HighRiskMinimumTier { get; set; } = ModelTier.Premium;

    /// <summary>Cost/quality knob used when neither the tenant nor the request sets one (default 0.5; 0 cheapest, 1 best).</summary>
    [Range(0.0, 1.0)]
    public double DefaultQuality { get; set; } = 0.5;

    /// <summary>
    /// Complexity points the knob adds at 1 (and removes at 0) before the table lookup (default 7.5). Complexity is
    /// uniform on reference traffic (1 + 9 × percentile), so 7.5 lets knob 0 send every task to economy and knob 1 every
    /// task to premium under the default table (whose widest bands need a shift of 7.5); each 0.1 of knob moves
    /// complexity by 1.5 points, about a sixth of reference traffic.
    /// </summary>
    [Range(0.0, 9.0)]
    public double KnobRange { get; set; } = 7.5;
}

/// <summary>One row of the routing table: task × complexity band × risk → tier.</summary>
public sealed class RoutingTableEntry
{
    /// <summary>Task type wire name, or <c>*</c> for any.</summary>
    public string Task { get; set; } = "*";

    /// <summary>Complexity band <c>lo-hi</c> within 1–10 (default <c>1-10</c>).</summary>
    public string Complexity { get; set; } = "1-10";

    /// <summary>Risk level wire name (<c>none|low|medium|high</c>), or <c>*</c>.</summary>
    public string Risk { get; set; } = "*";

    /// <summary>The tier to route to.</summary>
    public ModelTier Tier { get; set; }
}
