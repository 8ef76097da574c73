using System.Diagnostics.Metrics;
using Azure.Data.Tables;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Router.Core.Audits;
using Router.Core.Catalog;
using Router.Core.Execution;
using Router.Core.Metering;
using Router.Core.Telemetry;
using Router.Core.Weights;
using Router.Infrastructure.Audits;
using Router.Infrastructure.Storage;
using Router.Integration.Tests.Storage;

namespace Router.Integration.Tests.Audits;

/// <summary>One audit job delivered to two router instances at once (the queue delivers at least once, and a redrive can
/// enqueue a job twice): one audit row is written, and what usage reports for the request must be that audit.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class DuplicateAuditDeliveryTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Two_deliveries_of_one_job_at_once_leave_the_usage_row_with_the_score_of_the_audit_that_was_recorded()
    {
        var prefix = "d" + Guid.NewGuid().ToString("N")[..10];
        var now = DateTimeOffset.UtcNow;
        var job = new AuditJob
        {
            RequestId = "req_" + Guid.NewGuid().ToString("N"),
            TenantId = "acme",
            Timestamp = now,
            Task = "creative_writing",
            Band = "low",
            Model = "small",
            Tier = "economy",
            Reason = AuditReasons.Sampled,
            Messages = [new AuditMessage("user", "Suggest a name for a bakery that sells sourdough.")],
            Answer = "Rise & Shine Sourdough",
        };

        // Judges are language models: asked twice, they need not score an answer the same.
        var first = new Instance(azurite.Azurite.ConnectionString, prefix, judgeScore: 9);
        var second = new Instance(azurite.Azurite.ConnectionString, prefix, judgeScore: 3);
        Assert.True(await first.Ledger.RecordAsync(new UsageRecord { RequestId = job.RequestId, TenantId = job.TenantId, Timestamp = now, Model = "small", Tier = "economy" }, CancellationToken.None));

        // The second delivery has found no audit row and is waiting for its reference answer when the first runs whole.
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        second.Clients.HoldReference = held.Task;
        var secondRun = second.Processor.ProcessAsync(job, CancellationToken.None);
        await second.Clients.ReferenceAsked.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(await first.Processor.ProcessAsync(job, CancellationToken.None));
        held.SetResult();
        Assert.False(await secondRun);

        var audit = Assert.Single(await first.Audits.QueryAsync(now.AddMinutes(-1), CancellationToken.None).ToListAsync());
        var usage = Assert.Single(await first.Ledger.QueryAsync(job.TenantId, DateOnly.FromDateTime(now.UtcDateTime), DateOnly.FromDateTime(now.UtcDateTime), CancellationToken.None).ToListAsync());
        Assert.Equal(0.9, audit.Score, 3);
        Assert.Equal(audit.Score, usage.AuditScore);
    }

    private static RouterOptions CatalogOptions() => new()
    {
        UseDefaultCatalog = false,
        Providers = { ["sim"] = new ProviderOptions { Endpoint = "http://127.0.0.1:9/v1" } },
        Models =
        {
            ["small"] = new ModelOptions { Provider = "sim", Tier = ModelTier.Economy, InputCostPerMillion = 0.15m, OutputCostPerMillion = 0.6m },
            ["big"] = new ModelOptions { Provider = "sim", Tier = ModelTier.Premium, InputCostPerMillion = 2.5m, OutputCostPerMillion = 10m },
        },
    };

    // One router instance's audit processor, with its own storage clients on the shared account.
    private sealed class Instance
    {
        public Instance(string connection, string prefix, double judgeScore)
        {
            var tables = new RouterTables(new TableServiceClient(connection), Options.Create(new StorageOptions { ConnectionString = connection, TablePrefix = prefix }));
            Audits = new TableAuditStore(tables, TimeProvider.System);
            Ledger = new TableUsageLedger(tables);
            Clients = new Models(judgeScore);
            var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
            Processor = new AuditProcessor(new ModelCatalog(CatalogOptions()), Clients, Audits, Ledger, new RoutingWeightsHolder(), Options.Create(new AuditOptions()),
                TimeProvider.System, new RouterTelemetry(meters), NullLogger<AuditProcessor>.Instance);
        }

        public TableAuditStore Audits { get; }

        public TableUsageLedger Ledger { get; }

        public Models Clients { get; }

        public AuditProcessor Processor { get; }
    }

    // The premium model writes a reference answer and, as judge, calls the two answers a tie at this instance's score.
    private sealed class Models(double judgeScore) : IChatClientProvider
    {
        private readonly TaskCompletionSource _referenceAsked = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public double JudgeScore => judgeScore;

        public Task? HoldReference { get; set; }

        public Task ReferenceAsked => _referenceAsked.Task;

        public IChatClient For(CatalogModel model) => new Client(this);

        private sealed class Client(Models models) : IChatClient
        {
            public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            {
                if (!messages.Last().Text.Contains("[Answer A]", StringComparison.Ordinal))
                {
                    models._referenceAsked.TrySetResult();
                    if (models.HoldReference is { } hold)
                    {
                        await hold.WaitAsync(cancellationToken);
                    }

                    return new ChatResponse(new ChatMessage(ChatRole.Assistant, "The Daily Loaf"));
                }

                var score = models.JudgeScore.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return new ChatResponse(new ChatMessage(ChatRole.Assistant, $$"""{"better":"tie","score_a":{{score}},"score_b":{{score}}}"""));
            }

            public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
                throw new NotSupportedException();

            public object? GetService(Type serviceType, object? serviceKey = null) => null;

            public void Dispose()
            {
            }
        }
    }
}
