using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Router.Core.Audits;
using Router.Core.Catalog;
using Router.Core.Execution;
using Router.Core.Telemetry;
using Router.Core.Tests.Catalog;
using Router.Core.Tests.Execution;
using Router.Infrastructure.Audits;
using Router.Infrastructure.Metering;

namespace Router.Core.Tests.Audits;

public sealed class AuditProcessorTests
{
    [Fact]
    public async Task A_probe_of_a_standard_answer_judges_the_lower_tier_against_a_premium_reference()
    {
        // The economy model matches the standard answer but not the premium one: judged against what was served, the
        // probe would call economy equivalent and bring the band down on a weaker measure than every other audit.
        var catalog = new ModelCatalog(ModelCatalogTests.Options());
        var clients = new Clients();
        var store = new InMemoryAuditStore();
        var processor = new AuditProcessor(catalog, clients, store, new InMemoryUsageLedger(), Options.Create(new AuditOptions()), TimeProvider.System,
            new RouterTelemetry(new TestMeterFactory()), NullLogger<AuditProcessor>.Instance);
        var job = new AuditJob
        {
            RequestId = "req_probe",
            TenantId = "acme",
            Timestamp = DateTimeOffset.UtcNow,
            Task = "coding",
            Band = "low",
            Model = "mid",
            Tier = "standard",
            Reason = AuditReasons.Probe,
            ChallengerTier = "economy",
            Messages = [new AuditMessage("user", "reverse a string in C#")],
            Answer = "answer from mid",
        };

        Assert.True(await processor.ProcessAsync(job, CancellationToken.None));

        var audit = Assert.Single(await store.QueryAsync(DateTimeOffset.MinValue, CancellationToken.None).ToListAsync());
        Assert.Equal(("small", "economy", AuditVerdict.Worse), (audit.Model, audit.Tier, audit.Verdict));
        Assert.Contains("small", clients.Called);
        Assert.Contains("big", clients.Called);
    }

    // Each model answers "answer from <id>"; the premium model also judges: its own answer beats the economy one,
    // anything else is a tie.
    private sealed class Clients : IChatClientProvider
    {
        public List<string> Called { get; } = [];

        public IChatClient For(CatalogModel model) => new Client(model.Id, Called);

        private sealed class Client(string id, List<string> called) : IChatClient
        {
            public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            {
                var text = messages.Last().Text;
                var a = text.IndexOf("[Answer A]", StringComparison.Ordinal);
                var b = text.IndexOf("[Answer B]", StringComparison.Ordinal);
                if (a < 0 || b < 0)
                {
                    called.Add(id);
                    return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "answer from " + id)));
                }

                var (first, second) = (text[a..b], text[b..]);
                var better = first.Contains("answer from big", StringComparison.Ordinal) && second.Contains("answer from small", StringComparison.Ordinal) ? "A"
                    : second.Contains("answer from big", StringComparison.Ordinal) && first.Contains("answer from small", StringComparison.Ordinal) ? "B"
                    : "tie";
                return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, $$"""{"better":"{{better}}","score_a":5,"score_b":5}""")));
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
