using Router.Core.Routing;

namespace Router.Core.Metering;

/// <summary>A tenant's settings that shape routing and metering.</summary>
public sealed record TenantPolicy
{
    /// <summary>The tenant.</summary>
    public required string TenantId { get; init; }

    /// <summary>The tenant's cost/quality knob (0 cheapest, 1 best); null uses the router default.</summary>
    public double? Quality { get; init; }

    /// <summary>Rules evaluated in order on every request.</summary>
    public IReadOnlyList<TenantRule> Rules { get; init; } = [];

    /// <summary>The default policy of a tenant with no settings.</summary>
    public static TenantPolicy Default(string tenantId) => new() { TenantId = tenantId };
}

/// <summary>Reads and changes tenant policies.</summary>
public interface ITenantPolicyStore
{
    /// <summary>The tenant's policy (the default one when it has none).</summary>
    ValueTask<TenantPolicy> GetAsync(string tenantId, CancellationToken cancellationToken);

    /// <summary>Replaces the tenant's rules (already validated).</summary>
    ValueTask SetRulesAsync(string tenantId, IReadOnlyList<TenantRule> rules, CancellationToken cancellationToken);

    /// <summary>Sets the tenant's cost/quality knob; null clears it.</summary>
    ValueTask SetQualityAsync(string tenantId, double? quality, CancellationToken cancellationToken);
}
