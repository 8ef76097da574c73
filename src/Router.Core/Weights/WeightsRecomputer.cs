using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Audits;

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
        return (true, next);
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

        [LoggerMessage(EventId = 1403, Level = LogLevel.Information, Message = "Loaded weights version {Version}")]
        public static partial void Loaded(ILogger logger, long version);
    }
}
