using System.Threading.Channels;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;
using Router.Core.Audits;

namespace Router.Infrastructure.Audits;

/// <summary>The embedded default: audit jobs wait in a bounded in-process channel (lost on restart).</summary>
internal sealed class ChannelAuditQueue : IAuditQueue
{
    private readonly Channel<(AuditJob Job, int Attempt)> _channel = Channel.CreateBounded<(AuditJob, int)>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    public ChannelReader<(AuditJob Job, int Attempt)> Reader => _channel.Reader;

    public ValueTask EnqueueAsync(AuditJob job, CancellationToken cancellationToken) => Requeue(job, 1);

    public ValueTask Requeue(AuditJob job, int attempt)
    {
        _channel.Writer.TryWrite((job, attempt));
        return ValueTask.CompletedTask;
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
