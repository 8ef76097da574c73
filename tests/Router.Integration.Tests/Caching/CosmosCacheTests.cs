using System.Net;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Caching;
using Router.Infrastructure.Caching;
using Router.Infrastructure.Embeddings;

namespace Router.Integration.Tests.Caching;

/// <summary>The Cosmos DB cache: what can be checked offline, and a live run against the emulator or a real account
/// when <c>ROUTER_TEST_COSMOS_ENDPOINT</c> (and, for the emulator, <c>ROUTER_TEST_COSMOS_KEY</c>) is set.</summary>
public sealed class CosmosCacheTests
{
    [Fact]
    public void The_semantic_query_is_a_parameterised_top_k_by_vector_distance_inside_one_tenant_and_scope()
    {
        var query = CosmosResponseCacheStore.SearchQuery("acme", "scope1", "all-MiniLM-L6-v2-int8", new float[] { 0.1f, 0.2f }, 4);

        Assert.Equal(
            "SELECT TOP @top c.id, c.tenantId, c.scope, c.prompt, c.embeddingModel, c.answer, c.finishReason, c.model, c.promptTokens, "
            + "c.completionTokens, c.createdAt, c.expiresAt, VectorDistance(c.embedding, @embedding) AS similarity FROM c WHERE "
            + "c.tenantId = @tenant AND c.scope = @scope AND c.embeddingModel = @model ORDER BY VectorDistance(c.embedding, @embedding)",
            query.QueryText);
        var parameters = query.GetQueryParameters().ToDictionary(p => p.Name, p => p.Value);
        Assert.Equal(4, parameters["@top"]);
        Assert.Equal("acme", parameters["@tenant"]);
        Assert.Equal("scope1", parameters["@scope"]);
        Assert.Equal("all-MiniLM-L6-v2-int8", parameters["@model"]);
        Assert.Equal([0.1f, 0.2f], (float[])parameters["@embedding"]);
        Assert.DoesNotContain("acme", query.QueryText, StringComparison.Ordinal);
    }

    [Fact]
    public void The_container_definition_has_a_tenant_led_hierarchical_key_a_cosine_vector_index_and_a_default_ttl()
    {
        var local = CosmosCacheContainer.Definition("all-MiniLM-L6-v2-int8");
        var azure = CosmosCacheContainer.Definition("text-embedding-3-small");

        Assert.Equal("cache-all-minilm-l6-v2", local.Id);
        Assert.Equal(["/tenantId", "/scope"], local.PartitionKeyPaths);
        Assert.Equal(604_800, local.DefaultTimeToLive);
        Assert.Equal(384, local.VectorEmbeddingPolicy.Embeddings.Single().Dimensions);
        Assert.Equal(VectorIndexType.QuantizedFlat, local.IndexingPolicy.VectorIndexes.Single().Type);
        Assert.Contains(local.IndexingPolicy.ExcludedPaths, p => p.Path == "/embedding/*");
        Assert.Equal("cache-text-embedding-3-small", azure.Id);
        Assert.Equal(1536, azure.VectorEmbeddingPolicy.Embeddings.Single().Dimensions);
    }

    [Fact]
    public async Task The_server_checks_the_configured_models_container_at_start_and_logs_a_missing_one_while_it_serves()
    {
        var reader = new MissingContainerReader();
        await using var router = await RouterServerHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Router:Cache:Cosmos:Endpoint"] = "https://127.0.0.1:8081/",
                ["Router:Embeddings:Provider"] = "None",
            },
            builder => builder.Services.Replace(ServiceDescriptor.Singleton<ICosmosCacheContainerReader>(reader)));

        // The check runs on its own after start; its task ends once it has logged.
        await router.Services.GetServices<IHostedService>().OfType<CosmosCacheContainerCheck>().Single().ExecuteTask!;

        Assert.Equal([("router", "cache-none")], reader.Reads);
        var error = Assert.Single(router.LogLines, l => l.Contains("[1205]", StringComparison.Ordinal));
        Assert.Contains("cache-none", error, StringComparison.Ordinal);
        Assert.Contains("Router:Embeddings:Provider None", error, StringComparison.Ordinal);
        using var health = await router.Http.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public void The_functions_app_registers_the_start_up_check_of_the_cache_container_too()
    {
        // What the Functions app's Program.cs registers.
        var services = new ServiceCollection().AddRouterHttp();

        Assert.Single(services, d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(CosmosCacheContainerCheck));
    }

    [SkippableFact]
    public async Task Live_cosmos_when_ROUTER_TEST_COSMOS_ENDPOINT_is_set_store_exact_semantic_isolation_and_ttl()
    {
        var endpoint = Environment.GetEnvironmentVariable("ROUTER_TEST_COSMOS_ENDPOINT");
        Skip.If(string.IsNullOrEmpty(endpoint), "Set ROUTER_TEST_COSMOS_ENDPOINT (and ROUTER_TEST_COSMOS_KEY for the emulator) to run against Cosmos DB.");
        var key = Environment.GetEnvironmentVariable("ROUTER_TEST_COSMOS_KEY");
        var options = Options.Create(new CosmosCacheOptions { Endpoint = new Uri(endpoint!), Key = key, Database = "router-tests", CreateIfMissing = true });
        // The client the app builds (its retry and write options), not one with the SDK's defaults.
        using var client = CosmosCacheClient.Create(options.Value, () => new Azure.Identity.DefaultAzureCredential());
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new CosmosResponseCacheStore(client, options, time, NullLogger<CosmosResponseCacheStore>.Instance);
        var vector = Enumerable.Range(0, 384).Select(i => (float)Math.Sin(i)).ToArray();
        var norm = MathF.Sqrt(vector.Sum(v => v * v));
        vector = vector.Select(v => v / norm).ToArray();
        var id = Guid.NewGuid().ToString("N");
        var answer = new CachedAnswer
        {
            Id = id, TenantId = "tenant-a", Scope = "s1", Prompt = "what is cosmos", Embedding = vector, EmbeddingModel = "all-MiniLM-L6-v2-int8",
            Content = "a database", Model = "m", CreatedAt = time.GetUtcNow(), ExpiresAt = time.GetUtcNow().AddSeconds(5),
        };

        await store.StoreAsync(answer, CancellationToken.None);

        Assert.Equal("a database", (await store.GetExactAsync("tenant-a", "s1", "all-MiniLM-L6-v2-int8", id, CancellationToken.None))?.Content);
        var semantic = await store.SearchAsync("tenant-a", "s1", "all-MiniLM-L6-v2-int8", vector, 0.9f, 3, CancellationToken.None);
        Assert.Contains(semantic, c => c.Answer.Id == id && c.Similarity > 0.99f);
        Assert.Null(await store.GetExactAsync("tenant-b", "s1", "all-MiniLM-L6-v2-int8", id, CancellationToken.None));
        Assert.Empty(await store.SearchAsync("tenant-b", "s1", "all-MiniLM-L6-v2-int8", vector, 0.5f, 3, CancellationToken.None));

        // The item's ttl (5 s) makes Cosmos DB delete it.
        await Task.Delay(TimeSpan.FromSeconds(8));
        Assert.Null(await store.GetExactAsync("tenant-a", "s1", "all-MiniLM-L6-v2-int8", id, CancellationToken.None));
    }

    [SkippableTheory]
    [InlineData("text-embedding-3-small", 1536)]
    [InlineData("none", 0)]
    public async Task Live_cosmos_when_ROUTER_TEST_COSMOS_ENDPOINT_is_set_an_answer_stored_under_another_embedding_model_is_an_exact_hit(string embeddingModel, int dimensions)
    {
        var endpoint = Environment.GetEnvironmentVariable("ROUTER_TEST_COSMOS_ENDPOINT");
        Skip.If(string.IsNullOrEmpty(endpoint), "Set ROUTER_TEST_COSMOS_ENDPOINT (and ROUTER_TEST_COSMOS_KEY for the emulator) to run against Cosmos DB.");
        var options = Options.Create(new CosmosCacheOptions
        {
            Endpoint = new Uri(endpoint!), Key = Environment.GetEnvironmentVariable("ROUTER_TEST_COSMOS_KEY"), Database = "router-tests", CreateIfMissing = true,
        });
        using var client = CosmosCacheClient.Create(options.Value, () => new Azure.Identity.DefaultAzureCredential());
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new CosmosResponseCacheStore(client, options, time, NullLogger<CosmosResponseCacheStore>.Instance);
        var cache = new ResponseCacheService(store, new SemanticGuard(new SemanticGuardOptions()), Options.Create(new SemanticCacheOptions { Semantic = dimensions > 0 }), time, NullLogger<ResponseCacheService>.Instance);
        var prompt = "what is cosmos " + Guid.NewGuid().ToString("N");
        Assert.True(Router.Core.Chat.ChatRequestParser.TryParse(System.Text.Encoding.UTF8.GetBytes($$"""{"model":"auto","messages":[{"role":"user","content":"{{prompt}}"}]}"""), out var request, out _));
        var vector = new float[dimensions];
        if (dimensions > 0)
        {
            vector[0] = 1;
        }

        // As the chat pipeline does: the answer goes to the embedding model's container, and the lookup must read it there.
        await cache.StoreAsync("tenant-a", request, vector, embeddingModel, "m", "a database", "stop", 10, 2, null, CancellationToken.None);
        var hit = await cache.LookupAsync("tenant-a", request, vector, embeddingModel, null, CancellationToken.None);

        Assert.Equal("exact", hit?.Kind);
        Assert.Equal("a database", hit!.Answer.Content);
        var container = await client.GetContainer("router-tests", CosmosCacheContainer.NameFor(embeddingModel)).ReadContainerAsync();
        Assert.Equal(CosmosCacheContainer.NameFor(embeddingModel), container.Resource.Id);
    }

    [SkippableFact]
    public async Task Live_cosmos_when_ROUTER_TEST_COSMOS_ENDPOINT_is_set_a_missing_container_is_a_miss_not_an_error()
    {
        var endpoint = Environment.GetEnvironmentVariable("ROUTER_TEST_COSMOS_ENDPOINT");
        Skip.If(string.IsNullOrEmpty(endpoint), "Set ROUTER_TEST_COSMOS_ENDPOINT (and ROUTER_TEST_COSMOS_KEY for the emulator) to run against Cosmos DB.");
        var options = Options.Create(new CosmosCacheOptions
        {
            Endpoint = new Uri(endpoint!), Key = Environment.GetEnvironmentVariable("ROUTER_TEST_COSMOS_KEY"), Database = "router-tests-missing-" + Guid.NewGuid().ToString("N"), CreateIfMissing = false,
        });
        using var client = CosmosCacheClient.Create(options.Value, () => new Azure.Identity.DefaultAzureCredential());
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new CosmosResponseCacheStore(client, options, time, NullLogger<CosmosResponseCacheStore>.Instance);
        var cache = new ResponseCacheService(store, new SemanticGuard(new SemanticGuardOptions()), Options.Create(new SemanticCacheOptions()), TimeProvider.System, NullLogger<ResponseCacheService>.Instance);
        Assert.True(Router.Core.Chat.ChatRequestParser.TryParse("""{"model":"auto","messages":[{"role":"user","content":"what is cosmos"}]}"""u8.ToArray(), out var request, out _));

        // The service answers 404 for the database and container: the request goes on as a miss.
        var hit = await cache.LookupAsync("tenant-a", request, new float[384], "all-MiniLM-L6-v2-int8", null, CancellationToken.None);

        Assert.Null(hit);
    }

    [SkippableFact]
    public async Task Live_cosmos_when_ROUTER_TEST_COSMOS_ENDPOINT_is_set_the_start_up_check_finds_an_existing_container_and_reports_a_missing_one()
    {
        var endpoint = Environment.GetEnvironmentVariable("ROUTER_TEST_COSMOS_ENDPOINT");
        Skip.If(string.IsNullOrEmpty(endpoint), "Set ROUTER_TEST_COSMOS_ENDPOINT (and ROUTER_TEST_COSMOS_KEY for the emulator) to run against Cosmos DB.");
        var key = Environment.GetEnvironmentVariable("ROUTER_TEST_COSMOS_KEY");
        var existing = new CosmosCacheOptions { Endpoint = new Uri(endpoint!), Key = key, Database = "router-tests" };
        var missing = new CosmosCacheOptions { Endpoint = new Uri(endpoint!), Key = key, Database = "router-tests-missing-" + Guid.NewGuid().ToString("N") };
        using var client = CosmosCacheClient.Create(existing, () => new Azure.Identity.DefaultAzureCredential());
        var database = await client.CreateDatabaseIfNotExistsAsync(existing.Database);
        await database.Database.CreateContainerIfNotExistsAsync(CosmosCacheContainer.Definition("none"));
        var logs = new LogCapture();
        using var loggers = new LoggerFactory([logs]);
        // The reader the app registers, on the client the app builds.
        var reader = new CosmosCacheContainerReader(() => client);
        CosmosCacheContainerCheck Check(CosmosCacheOptions options) => new(
            Options.Create(options), Options.Create(new EmbeddingOptions { Provider = "None" }), reader,
            TimeProvider.System, loggers.CreateLogger<CosmosCacheContainerCheck>());

        // The real service's answers: the container is read, and a database that does not exist is a 404.
        Assert.Equal(CosmosCacheContainerState.Ready, await Check(existing).CheckAsync("none", CancellationToken.None));
        Assert.Equal(CosmosCacheContainerState.Missing, await Check(missing).CheckAsync("none", CancellationToken.None));

        var error = Assert.Single(logs.Lines, l => l.Contains("[1205]", StringComparison.Ordinal));
        Assert.Contains(missing.Database, error, StringComparison.Ordinal);
        Assert.Contains("cache-none", error, StringComparison.Ordinal);
    }

    /// <summary>An account without the cache container: every read is the service's 404.</summary>
    private sealed class MissingContainerReader : ICosmosCacheContainerReader
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<(string Database, string Container)> _reads = new();

        public IReadOnlyCollection<(string Database, string Container)> Reads => _reads;

        public Task ReadAsync(string database, string container, CancellationToken cancellationToken)
        {
            _reads.Enqueue((database, container));
            return Task.FromException(new CosmosException("Resource Not Found", HttpStatusCode.NotFound, 0, "activity", 1));
        }
    }
}
