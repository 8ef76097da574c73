using System.Threading.Channels;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;
using Router.Core.Audits;

namespace Router.Infrastructure.Audits;

/// <summary>The embedded default: audit jobs wait in a bounded in-process channel, and jobs given up after too many
/// failed deliveries in a bounded in-process poison list, the newest <see cref="PoisonCapacity"/> kept (both lost on
/// restart).</summary>
internal sealed class ChannelAuditQueue : IAuditQueue, IAuditPoisonQueue
{
    /// <summary>Poisoned jobs kept for a redrive; older ones are dropped.</summary>
    public const int PoisonCapacity = 1000;

    /// <summary>Jobs waiting at most. A job sampled while the channel is full is dropped: writers use TryWrite, which in
    /// <see cref="BoundedChannelFullMode.Wait"/> mode returns false instead of waiting (in DropWrite mode it would return
    /// true for a job it threw away, and a redrive would count jobs it lost).</summary>
    public const int Capacity = 10_000;

    private readonly Channel<(AuditJob Job, int Attempt)> _channel = Channel.CreateBounded<(AuditJob, int)>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    private readonly LinkedList<(AuditJob Job, DateTimeOffset PoisonedAt)> _poisoned = new();

    public ChannelReader<(AuditJob Job, int Attempt)> Reader => _channel.Reader;

    public ValueTask EnqueueAsync(AuditJob job, CancellationToken cancellationToken) => Requeue(job, 1);

    public ValueTask Requeue(AuditJob job, int attempt)
    {
        _channel.Writer.TryWrite((job, attempt));
        return ValueTask.CompletedTask;
    }

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
        lock (_poisoned)
        {
            // A job goes back as a first delivery, with all its retries ahead of it; one the full channel refuses stays.
            while (redriven < max && _poisoned.First is { } first && _channel.Writer.TryWrite((first.Value.Job, 1)))
            {
                _poisoned.RemoveFirst();
                redriven++;
            }

            return Task.FromResult(new AuditRedriveResult(redriven, 0, _poisoned.Count));
        }
    }
}

/// <summary>Audit jobs on the Azure Storage queue (<c>quality-audits</c>), base64-encoded as the Functions queue trigger expects.</summary>
internal sealed class StorageAuditQueue(QueueServiceClient queues, AuditJobCodec codec, IOptions<AuditOptions> options) : IAuditQueue
{
    private readonly Lazy<Task<QueueClient>> _queue = new(async () =>
    {
        var client = queues.GetQueueClient(options.Value.QueueName);
        await client.CreateIfNotExistsAsync();
        return client;
    });

    public async ValueTask EnqueueAsync(AuditJob job, CancellationToken cancellationToken)
    {
        var queue = await _queue.Value;
        await queue.SendMessageAsync(await codec.EncodeAsync(job, cancellationToken), cancellationToken);
    }
}
