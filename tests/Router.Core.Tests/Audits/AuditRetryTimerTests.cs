using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Router.Core.Audits;
using Router.Core.Catalog;
using Router.Core.Execution;
using Router.Core.Telemetry;
using Router.Core.Tests.Caching;
using Router.Core.Tests.Catalog;
using Router.Core.Tests.Execution;
using Router.Core.Weights;
using Router.Infrastructure.Audits;
using Router.Infrastructure.Metering;

namespace Router.Core.Tests.Audits;

/// <summary>Audit: in the embedded server a failed audit job leaves the bounded channel and waits for its retry in a
/// <c>Task.Delay</c> of its own (15 s, 1, 4, 16 min; up to an hour on a Retry-After hint), so during an outage of the
/// reference or judge model every sampled job becomes a live timer holding the job (up to two 32,000-character texts),
/// however far past <see cref="ChannelAuditQueue.Capacity"/> they number.</summary>
[Collection(nameof(HeapMeasuringCollection))]
public sealed class AuditRetryTimerTests
{
    [Fact]
    public async Task Jobs_waiting_for_a_retry_are_not_a_timer_each_nor_past_the_channels_capacity()
    {
        var queue = new ChannelAuditQueue();
        using var services = new ServiceCollection().AddSingleton<IAuditQueue>(queue).BuildServiceProvider();
        var options = Options.Create(new AuditOptions());
        var processor = new AuditProcessor(new ModelCatalog(ModelCatalogTests.Options()), new Down(), new InMemoryAuditStore(), new InMemoryUsageLedger(), new RoutingWeightsHolder(),
            options, TimeProvider.System, new RouterTelemetry(new TestMeterFactory()), NullLogger<AuditProcessor>.Instance);
        using var worker = new AuditQueueWorker(services, processor, new AuditJobCodec(options), options, TimeProvider.System, NullLogger<AuditQueueWorker>.Instance);
        var timersBefore = Timer.ActiveCount;
        await worker.StartAsync(CancellationToken.None);

        // Twice the channel's capacity is sampled during the outage (every job fails at once: its payload is gone).
        const int jobs = 2 * ChannelAuditQueue.Capacity;
        for (var i = 0; i < jobs; i++)
        {
            while (queue.Reader.Count >= ChannelAuditQueue.Capacity - 1)
            {
                await Task.Delay(1);
            }

            await queue.EnqueueAsync(Job("req_" + i), CancellationToken.None);
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (queue.Reader.Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        var timers = Timer.ActiveCount - timersBefore;
        await worker.StopAsync(CancellationToken.None);

        Assert.True(timers < 100, $"{timers:N0} timers for {jobs:N0} jobs waiting for their retry (channel capacity {ChannelAuditQueue.Capacity:N0})");
    }

    private static AuditJob Job(string requestId) => new()
    {
        RequestId = requestId,
        TenantId = "acme",
        Timestamp = DateTimeOffset.UtcNow,
        Task = "qa",
        Band = "low",
        Model = "small",
        Tier = "economy",
        Reason = "risk",
        Messages = [],
        Answer = "",
        PayloadBlob = "gone",
    };

    private sealed class Down : IChatClientProvider
    {
        public IChatClient For(CatalogModel model) => throw new HttpRequestException("model down");
    }
}
