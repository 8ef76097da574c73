using System.Globalization;
using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Options;
using Router.Core.Audits;
using Router.Infrastructure.Audits;

namespace Router.Core.Tests.Audits;

/// <summary>The Storage audit queue creates its queue on first use: a storage blip (or a credential not ready yet) at that
/// moment must cost the audits of that moment, not every audit until the process restarts.</summary>
public sealed class StorageAuditQueueRecoveryTests
{
    [Fact]
    public async Task A_failed_first_queue_creation_is_tried_again_by_the_next_enqueue()
    {
        var queues = new FlakyQueueService();
        var options = Options.Create(new AuditOptions());
        var queue = new StorageAuditQueue(queues, new AuditJobCodec(options), options);

        // The first audit after start meets a storage outage (503): it is lost, and the pipeline logs AuditNotQueued.
        await Assert.ThrowsAsync<RequestFailedException>(async () => await queue.EnqueueAsync(Job("req_1"), CancellationToken.None));

        // Storage is back. The next sampled audit must reach the queue.
        queues.Client.Healthy = true;
        var second = await Record.ExceptionAsync(async () => await queue.EnqueueAsync(Job("req_2"), CancellationToken.None));

        Assert.True(second is null,
            $"after one failed CreateIfNotExists the queue stays broken until restart ({second?.GetType().Name}: the faulted task is cached in a Lazy); creation attempts: {queues.Client.CreateCalls}");
        Assert.Equal(1, queues.Client.Sent);
    }

    private static AuditJob Job(string requestId) => new()
    {
        RequestId = requestId,
        TenantId = "acme",
        Timestamp = DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture),
        Task = "qa",
        Band = "low",
        Model = "small",
        Tier = "economy",
        Reason = "sampled",
        Messages = [new AuditMessage("user", "what is the capital of France?")],
        Answer = "Paris",
    };

    private sealed class FlakyQueueService : QueueServiceClient
    {
        public FlakyQueue Client { get; } = new();

        public override QueueClient GetQueueClient(string queueName) => Client;
    }

    // CreateIfNotExists fails with a 503 until Healthy is set; sends succeed.
    private sealed class FlakyQueue : QueueClient
    {
        private int _createCalls;
        private int _sent;

        public bool Healthy { get; set; }

        public int CreateCalls => Volatile.Read(ref _createCalls);

        public int Sent => Volatile.Read(ref _sent);

        public override async Task<Response> CreateIfNotExistsAsync(IDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _createCalls);
            await Task.Yield();
            if (!Healthy)
            {
                throw new RequestFailedException(503, "Server busy", "ServerBusy", null);
            }

            return null!;
        }

        public override Task<Response<SendReceipt>> SendMessageAsync(string messageText, CancellationToken cancellationToken = default) =>
            SendMessageAsync(messageText, null, null, cancellationToken);

        public override Task<Response<SendReceipt>> SendMessageAsync(string messageText, TimeSpan? visibilityTimeout = null, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _sent);
            return Task.FromResult(Response.FromValue(
                QueuesModelFactory.SendReceipt("id", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, "receipt", DateTimeOffset.UnixEpoch), null!));
        }
    }
}
