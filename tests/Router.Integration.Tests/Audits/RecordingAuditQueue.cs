using System.Collections.Concurrent;
using Router.Core.Audits;

namespace Router.Integration.Tests.Audits;

/// <summary>An audit queue that keeps the jobs a router queued, for tests that check what was chosen for audit.</summary>
internal sealed class RecordingAuditQueue : IAuditQueue
{
    public ConcurrentQueue<AuditJob> Jobs { get; } = new();

    public ValueTask EnqueueAsync(AuditJob job, CancellationToken cancellationToken)
    {
        Jobs.Enqueue(job);
        return ValueTask.CompletedTask;
    }
}
