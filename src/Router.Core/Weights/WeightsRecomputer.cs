using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Audits;
using Router.Core.Caching;
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

        var next = calculator.Compute(current, recent, now);
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

    // Audited semantic hits judged worse than a fresh premium answer are false hits: a tenant with too many gets a
    // stricter threshold. Only audits after the last raise count, so one bad batch raises it once.
    private async Task TightenCachesAsync(List<AuditResult> recent, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        foreach (var tenant in recent.Where(a => a.Reason == AuditReasons.SemanticHit).GroupBy(a => a.TenantId))
        {
            var policy = await tenants.GetAsync(tenant.Key, cancellationToken);
            var counted = tenant.Where(a => policy.CacheThresholdRaisedAt is not { } raised || a.AuditedAt > raised).ToArray();
            var falseHits = counted.Count(a => a.Verdict == AuditVerdict.Worse);
            if (counted.Length < settings.CacheMinAudits || falseHits <= settings.CacheFalseHitBound * counted.Length)
            {
                continue;
            }

            var current = policy.CacheSimilarityThreshold ?? cacheOptions.Value.SimilarityThreshold;
            var raised = Math.Min(0.99f, current + settings.CacheThresholdStep);
            await tenants.UpsertAsync(policy with { Registered = true, CacheSimilarityThreshold = raised, CacheThresholdRaisedAt = now }, cancellationToken);
            Log.CacheTightened(logger, tenant.Key, falseHits, counted.Length, raised);
        }
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

        [LoggerMessage(EventId = 1404, Level = LogLevel.Warning, Message = "Tenant {TenantId}: {FalseHits} of {Audits} audited semantic hits were false; semantic threshold raised to {Threshold:0.00}")]
        public static partial void CacheTightened(ILogger logger, string tenantId, int falseHits, int audits, float threshold);

        [LoggerMessage(EventId = 1403, Level = LogLevel.Information, Message = "Loaded weights version {Version}")]
        public static partial void Loaded(ILogger logger, long version);
    }
}
