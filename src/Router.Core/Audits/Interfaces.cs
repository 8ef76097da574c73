namespace Router.Core.Audits;

/// <summary>Where audit jobs wait: the Storage queue <c>quality-audits</c> in Azure, an in-process channel embedded.</summary>
public interface IAuditQueue
{
    /// <summary>Enqueues a job (large payloads may be stored aside).</summary>
    ValueTask EnqueueAsync(AuditJob job, CancellationToken cancellationToken);
}

/// <summary>Audit results, one row per request id.</summary>
public interface IAuditStore
{
    /// <summary>Whether the request has been audited already.</summary>
    ValueTask<bool> ExistsAsync(string requestId, DateTimeOffset requestTime, CancellationToken cancellationToken);

    /// <summary>Adds a result; false when one already exists for the request id.</summary>
    ValueTask<bool> TryAddAsync(AuditResult result, CancellationToken cancellationToken);

    /// <summary>Results of requests that arrived at or after <paramref name="since"/>.</summary>
    IAsyncEnumerable<AuditResult> QueryAsync(DateTimeOffset since, CancellationToken cancellationToken);
}
