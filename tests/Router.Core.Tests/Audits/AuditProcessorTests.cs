using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Router.Core.Audits;
using Router.Core.Catalog;
using Router.Core.Execution;
using Router.Core.Routing;
using Router.Core.Telemetry;
using Router.Core.Tests.Catalog;
using Router.Core.Tests.Execution;
using Router.Core.Weights;
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
        var processor = Processor(catalog, clients, store, new RoutingWeightsHolder());

        Assert.True(await processor.ProcessAsync(Probe(), CancellationToken.None));

        var audit = Assert.Single(await store.QueryAsync(DateTimeOffset.MinValue, CancellationToken.None).ToListAsync());
        Assert.Equal(("small", "economy", AuditVerdict.Worse), (audit.Model, audit.Tier, audit.Verdict));
        Assert.Contains("small", clients.Called);
        Assert.Contains("big", clients.Called);
    }

    [Fact]
    public async Task A_probe_tests_the_model_routing_would_serve_the_band_with_not_a_tier_mate_demoted_there()
    {
        // "small" is economy's cheapest model but demoted in coding/low, so routing serves that band with "lean" first
        // once it comes down. The tier's estimate that keeps or lowers the band leaves demoted models out: a probe of
        // "small" is spent on evidence that cannot bring the band down, and "lean" is never tested.
        var options = ModelCatalogTests.Options();
        options.Models["lean"] = new ModelOptions { Provider = "sim", Tier = ModelTier.Economy, InputCostPerMillion = 0.2m, OutputCostPerMillion = 0.8m };
        var catalog = new ModelCatalog(options);
        var weights = new RoutingWeightsHolder();
        weights.TryUpdate(new RoutingWeights(1, DateTimeOffset.UtcNow, new Dictionary<string, TierAdjustment>(),
            new Dictionary<string, string> { ["coding/low/small"] = "coding/low: quality 0.30 vs lean 0.90" }));
        var clients = new Clients();
        var store = new InMemoryAuditStore();

        Assert.True(await Processor(catalog, clients, store, weights).ProcessAsync(Probe(), CancellationToken.None));
        Assert.True(await Processor(catalog, new Clients(), store, weights).ProcessAsync(Probe("req_chat", task: "chat"), CancellationToken.None));

        var audits = await store.QueryAsync(DateTimeOffset.MinValue, CancellationToken.None).ToListAsync();
        Assert.Equal(("lean", "economy"), audits.Where(a => a.RequestId == "req_probe").Select(a => (a.Model, a.Tier)).Single());
        Assert.DoesNotContain("small", clients.Called);
        // The demotion holds in coding/low only: in chat/low the cheapest model still serves first, and is probed.
        Assert.Equal("small", audits.Single(a => a.RequestId == "req_chat").Model);
    }

    [Fact]
    public async Task A_probe_tests_a_model_of_the_lower_tier_that_can_serve_the_request_and_none_when_no_model_can()
    {
        // "small", economy's cheapest, has a 4,000-token window and no tools: a request that needs more context, or tools,
        // fails there on every delivery until the poison queue, and routing would not serve it there were the band to
        // come down. "roomy" would.
        var options = ModelCatalogTests.Options();
        options.Models["small"].ContextWindow = 4_000;
        options.Models["small"].SupportsTools = false;
        options.Models["roomy"] = new ModelOptions { Provider = "sim", Tier = ModelTier.Economy, InputCostPerMillion = 0.3m, OutputCostPerMillion = 1.2m };
        var catalog = new ModelCatalog(options);
        var clients = new Clients();
        var store = new InMemoryAuditStore();
        var processor = Processor(catalog, clients, store, new RoutingWeightsHolder());

        Assert.True(await processor.ProcessAsync(Probe("req_long") with { Requirements = new ModelRequirements { ContextTokens = 6_000 } }, CancellationToken.None));
        Assert.True(await processor.ProcessAsync(Probe("req_tools") with { Requirements = new ModelRequirements { ContextTokens = 50, Tools = true } }, CancellationToken.None));
        Assert.True(await processor.ProcessAsync(Probe("req_short") with { Requirements = new ModelRequirements { ContextTokens = 50 } }, CancellationToken.None));
        // No economy model has the context: nothing is called, nothing recorded, and the job is done (not retried).
        Assert.False(await processor.ProcessAsync(Probe("req_huge") with { Requirements = new ModelRequirements { ContextTokens = 500_000 } }, CancellationToken.None));

        var audits = (await store.QueryAsync(DateTimeOffset.MinValue, CancellationToken.None).ToListAsync()).ToDictionary(a => a.RequestId, a => a.Model);
        Assert.Equal(new Dictionary<string, string> { ["req_long"] = "roomy", ["req_tools"] = "roomy", ["req_short"] = "small" }, audits);
        Assert.Equal(["roomy", "roomy", "small"], clients.Called.Where(m => m != "big"));
    }

    private static AuditProcessor Processor(ModelCatalog catalog, Clients clients, InMemoryAuditStore store, RoutingWeightsHolder weights) =>
        new(catalog, clients, store, new InMemoryUsageLedger(), weights, Options.Create(new AuditOptions()), TimeProvider.System,
            new RouterTelemetry(new TestMeterFactory()), NullLogger<AuditProcessor>.Instance);

    // A premium answer in coding/low, a band raised from economy, re-tested against economy.
    private static AuditJob Probe(string requestId = "req_probe", string task = "coding") => new()
    {
        RequestId = requestId,
        TenantId = "acme",
        Timestamp = DateTimeOffset.UtcNow,
        Task = task,
        Band = "low",
        Model = "mid",
        Tier = "standard",
        Reason = AuditReasons.Probe,
        ChallengerTier = "economy",
        Messages = [new AuditMessage("user", "reverse a string in C#")],
        Answer = "answer from mid",
    };

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
