using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Audits;
using Router.Core.Caching;
using Router.Core.Catalog;
using Router.Core.Metering;

namespace Router.Core.Weights;

/// <summary>The stored weights snapshot, versioned and guarded by an ETag.</summary>
public interface IWeightsStore
{
    /// <summary>The current snapshot and its ETag (null when none was written yet).</summary>
    ValueTask<(RoutingWeights Weights, string? ETag)> GetAsync(CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="weights"/> if the stored snapshot still has <paramref name="expectedETag"/>;
    /// false when another writer got there first.</summary>
    ValueTask<bool> TryWriteAsync(RoutingWeights weights, string? expectedETag, CancellationToken cancellationToken);
}

/// <summary>Recomputes weights from recent audits and writes one new version; duplicate or overlapping runs that
/// start from the same version produce one version between them.</summary>
public sealed partial class WeightsRecomputer(
    IWeightsStore store,
    IAuditStore audits,
    WeightsCalculator calculator,
    ModelCatalog catalog,
    RoutingWeightsHolder holder,
    ITenantPolicyStore tenants,
    IOptions<SemanticCacheOptions> cacheOptions,
    IOptions<WeightsOptions> options,
    TimeProvider time,
    ILogger<WeightsRecomputer> logger)
{
    /// <summary>Runs once; returns whether this run wrote a version, and the snapshot now current.</summary>
    public async Task<(bool Written, RoutingWeights Current)> RecomputeAsync(CancellationToken cancellationToken)
    {
        var (current, etag) = await store.GetAsync(cancellationToken);
        var now = time.GetUtcNow();
        var recent = new List<AuditResult>();
        await foreach (var audit in audits.QueryAsync(now - options.Value.Window, cancellationToken))
        {
            recent.Add(audit);
        }

        var next = calculator.Compute(current, AsRoutedNow(recent), now);
        if (!await store.TryWriteAsync(next, etag, cancellationToken))
        {
            Log.Lost(logger, next.Version);
            var (winner, _) = await store.GetAsync(cancellationToken);
            holder.TryUpdate(winner);
            return (false, winner);
        }

        holder.TryUpdate(next);
        Log.Written(logger, next.Version, recent.Count, next.Adjustments.Count, next.DemotedModels.Count);
        await TightenCachesAsync(recent, now, cancellationToken);
        return (true, next);
    }

    // Only models routing can still choose are evidence: a removed model's sound record would keep its weak peer
    // demoted (and its band unraised) with nobody left to serve ahead of it, and its failures would hold a raise. A row
    // keeps the tier its model had when audited, but a model the catalog has since moved serves in its new tier only, so
    // its record counts there: left in the old one, it would do what a removed model's does.
    private IEnumerable<AuditResult> AsRoutedNow(List<AuditResult> recent)
    {
        foreach (var audit in recent)
        {
            if (catalog.TryGet(audit.Model, out var model))
            {
                var tier = model.Tier.ToWire();
                yield return string.Equals(audit.Tier, tier, StringComparison.OrdinalIgnoreCase) ? audit : audit with { Tier = tier };
            }
        }
    }

    // Audited semantic hits judged worse than a fresh premium answer are false hits, less the share the model that wrote
    // the cached answer loses to premium anyway on fresh answers of the same task and band (an economy answer can be
    // worse without the hit being wrong). A tenant whose excess passes the bound gets a stricter threshold; one whose
    // hits since the last change show no excess gets a step back, down to no learned threshold. Only audits after the
    // last change count, so one batch of evidence moves it once.
    private async Task TightenCachesAsync(List<AuditResult> recent, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var baseline = recent.Where(a => a.Reason != AuditReasons.SemanticHit && a.Conclusive)
            .GroupBy(a => (a.Model, a.Task, a.Band))
            .ToDictionary(g => g.Key, g => (Worse: g.Count(a => a.Verdict == AuditVerdict.Worse), Count: g.Count()));
        var byModel = baseline.GroupBy(p => p.Key.Model)
            .ToDictionary(g => g.Key, g => (Worse: g.Sum(p => p.Value.Worse), Count: g.Sum(p => p.Value.Count)), StringComparer.Ordinal);

        foreach (var tenant in recent.Where(a => a.Reason == AuditReasons.SemanticHit).GroupBy(a => a.TenantId))
        {
            var policy = await tenants.GetAsync(tenant.Key, cancellationToken);
            var counted = tenant.Where(a => a.Conclusive && (policy.CacheThresholdRaisedAt is not { } changed || a.AuditedAt > changed)).ToArray();
            if (counted.Length < settings.CacheMinAudits)
            {
                continue;
            }

            var falseHits = counted.Count(a => a.Verdict == AuditVerdict.Worse);
            var expected = counted.Sum(a => WorseRate(a));
            var excess = falseHits - expected;
            var start = Math.Max(policy.LearnedCacheSimilarityThreshold ?? 0, policy.CacheSimilarityThreshold ?? cacheOptions.Value.SimilarityThreshold);
            if (excess > settings.CacheFalseHitBound * counted.Length)
            {
                var raised = Math.Min(0.99f, start + settings.CacheThresholdStep);
                await tenants.SetLearnedCacheThresholdAsync(tenant.Key, raised, now, cancellationToken);
                Log.CacheTightened(logger, tenant.Key, falseHits, counted.Length, expected, raised);
            }
            else if (policy.LearnedCacheSimilarityThreshold is { } learned && excess <= 0)
            {
                var floor = policy.CacheSimilarityThreshold ?? cacheOptions.Value.SimilarityThreshold;
                float? relaxed = learned - settings.CacheThresholdStep > floor + 1e-4f ? learned - settings.CacheThresholdStep : null;
                await tenants.SetLearnedCacheThresholdAsync(tenant.Key, relaxed, now, cancellationToken);
                Log.CacheRelaxed(logger, tenant.Key, falseHits, counted.Length, relaxed ?? floor);
            }
        }

        // Fresh answers of the same model, task and band; of the same model when fewer than five; none: no allowance.
        double WorseRate(AuditResult hit) =>
            baseline.TryGetValue((hit.Model, hit.Task, hit.Band), out var cell) && cell.Count >= 5 ? (double)cell.Worse / cell.Count
            : byModel.TryGetValue(hit.Model, out var model) && model.Count >= 5 ? (double)model.Worse / model.Count
            : 0;
    }

    /// <summary>Loads the stored snapshot into this router if it is newer.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var (stored, _) = await store.GetAsync(cancellationToken);
        if (holder.TryUpdate(stored))
        {
            Log.Loaded(logger, stored.Version);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Weights version {Version} written from {Audits} audits: {Adjustments} raised bands, {Demoted} demoted models")]
        public static partial void Written(ILogger logger, long version, int audits, int adjustments, int demoted);

        [LoggerMessage(EventId = 1402, Level = LogLevel.Information, Message = "Weights version {Version} was written by another run first; keeping it")]
        public static partial void Lost(ILogger logger, long version);

        [LoggerMessage(EventId = 1404, Level = LogLevel.Warning, Message = "Tenant {TenantId}: {FalseHits} of {Audits} audited semantic hits were worse than premium ({Expected:0.0} expected from fresh answers); semantic threshold raised to {Threshold:0.00}")]
        public static partial void CacheTightened(ILogger logger, string tenantId, int falseHits, int audits, double expected, float threshold);

        [LoggerMessage(EventId = 1405, Level = LogLevel.Information, Message = "Tenant {TenantId}: {FalseHits} of {Audits} audited semantic hits were worse than premium, no more than fresh answers; semantic threshold relaxed to {Threshold:0.00}")]
        public static partial void CacheRelaxed(ILogger logger, string tenantId, int falseHits, int audits, float threshold);

        [LoggerMessage(EventId = 1403, Level = LogLevel.Information, Message = "Loaded weights version {Version}")]
        public static partial void Loaded(ILogger logger, long version);
    }
}
