using Router.Core.Routing;

namespace Router.Core.Metering;

/// <summary>A tenant's settings that shape routing, pricing and limits.</summary>
public sealed record TenantPolicy
{
    /// <summary>The tenant.</summary>
    public required string TenantId { get; init; }

    /// <summary>Whether the tenant was created (configuration or admin API) rather than implied.</summary>
    public bool Registered { get; init; }

    /// <summary>The tenant's cost/quality knob (0 cheapest, 1 best); null uses the router default.</summary>
    public double? Quality { get; init; }

    /// <summary>Rules evaluated in order on every request.</summary>
    public IReadOnlyList<TenantRule> Rules { get; init; } = [];

    /// <summary>Fee charged per routed call on top of provider cost (USD).</summary>
    public decimal PerCallFeeUsd { get; init; }

    /// <summary>Markup on provider cost, in percent.</summary>
    public decimal MarkupPercent { get; init; }

    /// <summary>Spend cap per UTC day for the whole tenant.</summary>
    public decimal? DailyBudgetUsd { get; init; }

    /// <summary>Spend cap per UTC month for the whole tenant.</summary>
    public decimal? MonthlyBudgetUsd { get; init; }

    /// <summary>Default requests per minute for the tenant's keys.</summary>
    public int? RequestsPerMinute { get; init; }

    /// <summary>Default tokens per minute for the tenant's keys.</summary>
    public int? TokensPerMinute { get; init; }

    /// <summary>Spend cap for one agent session (<c>x-session-id</c>, else the key) within the loop window.</summary>
    public decimal? SessionSpendCapUsd { get; init; }

    /// <summary>Whether the tenant's prompts and answers may leave the request path for quality audits (default yes).</summary>
    public bool AuditOptOut { get; init; }

    /// <summary>The tenant's share of economy/standard answers audited; null uses <c>Router:Audits:SampleRate</c>.</summary>
    public double? AuditSampleRate { get; init; }

    /// <summary>The tenant's semantic-cache threshold; null uses the router's (it can only be stricter).</summary>
    public float? CacheSimilarityThreshold { get; init; }

    /// <summary>The threshold that audits of the tenant's semantic hits arrived at (raised when too many were false,
    /// lowered again when they stop being so); kept apart from the tenant's own settings, which it never replaces.</summary>
    public float? LearnedCacheSimilarityThreshold { get; init; }

    /// <summary>When audits last changed <see cref="LearnedCacheSimilarityThreshold"/>; only newer audits count towards the next change.</summary>
    public DateTimeOffset? CacheThresholdRaisedAt { get; init; }

    /// <summary>The stricter of the tenant's own and the learned threshold (null: the router's).</summary>
    public float? EffectiveCacheSimilarityThreshold =>
        LearnedCacheSimilarityThreshold is { } learned ? Math.Max(learned, CacheSimilarityThreshold ?? 0) : CacheSimilarityThreshold;

    /// <summary>How long the tenant's answers stay cached; null uses <c>Router:Cache:TimeToLive</c>.</summary>
    public TimeSpan? CacheTimeToLive { get; init; }

    /// <summary>The default policy of a tenant with no settings.</summary>
    public static TenantPolicy Default(string tenantId) => new() { TenantId = tenantId };

    /// <summary>The fee billed for a call that cost <paramref name="providerCostUsd"/>.</summary>
    public decimal FeeFor(decimal providerCostUsd) => PerCallFeeUsd + providerCostUsd * MarkupPercent / 100m;
}

/// <summary>Reads and changes tenant policies.</summary>
public interface ITenantPolicyStore
{
    /// <summary>The tenant's policy (an unregistered default when it has none).</summary>
    ValueTask<TenantPolicy> GetAsync(string tenantId, CancellationToken cancellationToken);

    /// <summary>Registers a tenant; false, changing nothing, when it is registered already (stored or in configuration),
    /// whatever a cached read said.</summary>
    ValueTask<bool> CreateAsync(TenantPolicy policy, CancellationToken cancellationToken);

    /// <summary>Changes a registered tenant: <paramref name="change"/> is applied to the policy stored now (not a cached
    /// copy) and its result written only if nobody wrote the tenant in between, else read and applied again a few times
    /// at most, so the settings a change leaves alone keep the values stored now. <paramref name="change"/> returns null
    /// to write nothing.</summary>
    ValueTask<TenantUpdate> UpdateAsync(string tenantId, Func<TenantPolicy, TenantPolicy?> change, CancellationToken cancellationToken);

    /// <summary>Every registered tenant.</summary>
    IAsyncEnumerable<TenantPolicy> ListAsync(CancellationToken cancellationToken);

    /// <summary>Records the semantic-cache threshold learned from audits (null: none), without touching the tenant's
    /// own settings or registering it; <see cref="GetAsync"/> returns it as <see cref="TenantPolicy.LearnedCacheSimilarityThreshold"/>.</summary>
    ValueTask SetLearnedCacheThresholdAsync(string tenantId, float? threshold, DateTimeOffset changedAt, CancellationToken cancellationToken);
}

/// <summary>What <see cref="ITenantPolicyStore.UpdateAsync"/> did.</summary>
public enum TenantUpdateStatus
{
    /// <summary>The changed policy was written.</summary>
    Updated,

    /// <summary>The tenant is not registered; nothing was written.</summary>
    NotRegistered,

    /// <summary>The change returned null; nothing was written.</summary>
    Declined,

    /// <summary>Other writers changed the tenant at every attempt; nothing was written.</summary>
    Contended,
}

/// <summary>The outcome of a tenant update and, when <see cref="TenantUpdateStatus.Updated"/>, the policy written.</summary>
public readonly record struct TenantUpdate(TenantUpdateStatus Status, TenantPolicy? Policy);
