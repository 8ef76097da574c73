namespace Router.Core.Audits;

/// <summary>Where audit jobs wait: the Storage queue <c>quality-audits</c> in Azure, an in-process channel embedded.</summary>
public interface IAuditQueue
{
    /// <summary>Enqueues a job (large payloads may be stored aside).</summary>
    ValueTask EnqueueAsync(AuditJob job, CancellationToken cancellationToken);
}

/// <summary>The audits of each minute that every router instance together may queue, shared through a row per minute (an
/// Azure Table); not registered embedded, where the instance's own allowance is the only bound.</summary>
public interface IAuditAllowanceStore
{
    /// <summary>Takes up to <paramref name="count"/> audits from the allowance of <paramref name="minute"/>, as long as the
    /// audits taken from it by all instances stay within <paramref name="ceiling"/>; returns how many it took (0 when
    /// none are left).</summary>
    ValueTask<int> TakeAsync(DateTimeOffset minute, int count, int ceiling, CancellationToken cancellationToken);
}

/// <summary>Audit results, one row per request id.</summary>
public interface IAuditStore
{
    /// <summary>The request's recorded audit; null when it has not been audited.</summary>
    ValueTask<AuditResult?> FindAsync(string requestId, DateTimeOffset requestTime, CancellationToken cancellationToken);

    /// <summary>Adds a result; false when one already exists for the request id.</summary>
    ValueTask<bool> TryAddAsync(AuditResult result, CancellationToken cancellationToken);

    /// <summary>Results of requests that arrived at or after <paramref name="since"/>.</summary>
    IAsyncEnumerable<AuditResult> QueryAsync(DateTimeOffset since, CancellationToken cancellationToken);
}

/// <summary>Audit jobs given up after too many failed deliveries (the Storage queue <c>quality-audits-poison</c> in
/// Azure, a bounded in-process list embedded), for an operator to put back once the reference or judge model is well.</summary>
public interface IAuditPoisonQueue
{
    /// <summary>The approximate number of poisoned jobs and up to <paramref name="show"/> of the oldest, described by
    /// ids and ages only (a job carries the conversation).</summary>
    Task<AuditPoisonSummary> InspectAsync(int show, CancellationToken cancellationToken);

    /// <summary>Moves up to <paramref name="max"/> poisoned jobs back to the audit queue unchanged, each enqueued there
    /// before it leaves the poison queue (at worst a duplicate, which the processor skips by request id).</summary>
    Task<AuditRedriveResult> RedriveAsync(int max, CancellationToken cancellationToken);
}
