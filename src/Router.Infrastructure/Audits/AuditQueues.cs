using System.Threading.Channels;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;
using Router.Core.Audits;

namespace Router.Infrastructure.Audits;

/// <summary>The embedded default: audit jobs wait in a bounded in-process channel, failed ones for their retry in a
/// schedule counted against the same bound, and jobs given up in a bounded in-process poison list, the newest
/// <see cref="PoisonCapacity"/> kept (all lost on restart).</summary>
internal sealed class ChannelAuditQueue : IAuditQueue, IAuditPoisonQueue
{
    /// <summary>Poisoned jobs kept for a redrive; older ones are dropped.</summary>
    public const int PoisonCapacity = 1000;

    /// <summary>Jobs waiting at most, in the channel or for a retry. A job sampled while the queue is full is dropped:
    /// writers use TryWrite, which in <see cref="BoundedChannelFullMode.Wait"/> mode returns false instead of waiting (in
    /// DropWrite mode it would return true for a job it threw away, and a redrive would count jobs it lost).</summary>
    public const int Capacity = 10_000;

    private readonly Channel<(AuditJob Job, int Attempt)> _channel = Channel.CreateBounded<(AuditJob, int)>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    // Failed jobs by the time their retry is due; writers of the channel hold the gate, so the channel and the schedule
    // together stay within Capacity (the reader only takes jobs out, which can only make room).
    private readonly PriorityQueue<(AuditJob Job, int Attempt), DateTimeOffset> _retries = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource _sooner = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly LinkedList<(AuditJob Job, DateTimeOffset PoisonedAt)> _poisoned = new();

    public ChannelReader<(AuditJob Job, int Attempt)> Reader => _channel.Reader;

    /// <summary>Failed jobs waiting for their retry (exposed for tests).</summary>
    public int RetriesWaiting
    {
        get
        {
            lock (_gate)
            {
                return _retries.Count;
            }
        }
    }

    public ValueTask EnqueueAsync(AuditJob job, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            TryWrite(job, 1);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Keeps a failed job out of the channel until <paramref name="dueAt"/>; false when the queue is full.</summary>
    public bool TryRetryLater(AuditJob job, int attempt, DateTimeOffset dueAt)
    {
        lock (_gate)
        {
            if (!HasRoom)
            {
                return false;
            }

            if (!_retries.TryPeek(out _, out var first) || dueAt < first)
            {
                _sooner.TrySetResult();
            }

            _retries.Enqueue((job, attempt), dueAt);
            return true;
        }
    }

    /// <summary>Puts the retries due at <paramref name="now"/> on the channel. Returns when the next one is due (null:
    /// none waits) and a task that completes when a retry due before it is scheduled.</summary>
    public (DateTimeOffset? NextDue, Task Sooner) RequeueDue(DateTimeOffset now)
    {
        lock (_gate)
        {
            // A retry already counts against Capacity, so the channel has room for it.
            while (_retries.TryPeek(out var retry, out var due) && due <= now && _channel.Writer.TryWrite(retry))
            {
                _retries.Dequeue();
            }

            if (_sooner.Task.IsCompleted)
            {
                _sooner = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            return (_retries.TryPeek(out _, out var next) ? next : null, _sooner.Task);
        }
    }

    private bool HasRoom => _channel.Reader.Count + _retries.Count < Capacity;

    private bool TryWrite(AuditJob job, int attempt) => HasRoom && _channel.Writer.TryWrite((job, attempt));

    /// <summary>Keeps a job the worker gave up on.</summary>
    public void Poison(AuditJob job, DateTimeOffset poisonedAt)
    {
        lock (_poisoned)
        {
            _poisoned.AddLast((job, poisonedAt));
            if (_poisoned.Count > PoisonCapacity)
            {
                _poisoned.RemoveFirst();
            }
        }
    }

    public Task<AuditPoisonSummary> InspectAsync(int show, CancellationToken cancellationToken)
    {
        lock (_poisoned)
        {
            var oldest = _poisoned.Take(show).Select(p => new PoisonedAudit(p.Job.RequestId, p.Job.RequestId, p.PoisonedAt)).ToList();
            return Task.FromResult(new AuditPoisonSummary("in-process", Durable: false, _poisoned.Count, oldest));
        }
    }

    public Task<AuditRedriveResult> RedriveAsync(int max, CancellationToken cancellationToken)
    {
        var redriven = 0;
        lock (_gate)
        {
            lock (_poisoned)
            {
                // A job goes back as a first delivery, with all its retries ahead of it; one the full queue refuses stays.
                while (redriven < max && _poisoned.First is { } first && TryWrite(first.Value.Job, 1))
                {
                    _poisoned.RemoveFirst();
                    redriven++;
                }

                return Task.FromResult(new AuditRedriveResult(redriven, 0, _poisoned.Count));
            }
        }
    }
}

/// <summary>Audit jobs on the Azure Storage queue (<c>quality-audits</c>), base64-encoded as the Functions queue trigger expects.</summary>
internal sealed class StorageAuditQueue(QueueServiceClient queues, AuditJobCodec codec, IOptions<AuditOptions> options) : IAuditQueue
{
    private readonly CreatedOnFirstUse<QueueClient> _queue = new(async (name, ct) =>
    {
        var client = queues.GetQueueClient(name);
        await client.CreateIfNotExistsAsync(cancellationToken: ct);
        return client;
    });

    public async ValueTask EnqueueAsync(AuditJob job, CancellationToken cancellationToken)
    {
        var queue = await _queue.GetAsync(options.Value.QueueName, cancellationToken);
        await queue.SendMessageAsync(await codec.EncodeAsync(job, cancellationToken), cancellationToken);
    }
}
