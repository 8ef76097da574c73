using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Caching;
using Router.Core.Chat;
using Router.Infrastructure.Caching;

namespace Router.Core.Tests.Caching;

/// <summary>The Cosmos DB cache keeps one container per embedding model: an answer is written to the container of the
/// model it was embedded with, and its exact lookup must read that same container, or nothing stored under any model
/// but the default local one is ever found again (and in Azure, where only the configured model's container exists, the
/// lookup fails on a container that is not there).</summary>
public sealed class CosmosCacheContainerChoiceTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private static ChatRequest Request(string prompt)
    {
        var json = $$"""{"model":"auto","messages":[{"role":"user","content":"{{prompt}}"}]}""";
        Assert.True(ChatRequestParser.TryParse(Encoding.UTF8.GetBytes(json), out var request, out _));
        return request;
    }

    private ResponseCacheService Cache(IResponseCacheStore store, bool semantic) =>
        new(store, new SemanticGuard(new SemanticGuardOptions()), Options.Create(new SemanticCacheOptions { Semantic = semantic }), _time,
            NullLogger<ResponseCacheService>.Instance);

    private CosmosResponseCacheStore Store(FakeCosmosAccount account) =>
        new(account, Options.Create(new CosmosCacheOptions { Endpoint = new Uri("https://acct.documents.azure.com:443/") }), _time,
            NullLogger<CosmosResponseCacheStore>.Instance);

    [Theory]
    [InlineData("text-embedding-3-small", "cache-text-embedding-3-small", true)]
    [InlineData("none", "cache-none", false)]
    [InlineData("all-MiniLM-L6-v2-int8", "cache-all-minilm-l6-v2", true)]
    public async Task An_answer_stored_under_the_configured_embedding_model_is_an_exact_hit_read_from_that_models_container(
        string embeddingModel, string container, bool semantic)
    {
        // Only the configured model's container exists, as infra/ deploys it.
        var account = new FakeCosmosAccount(container);
        var cache = Cache(Store(account), semantic);
        var request = Request("what is the capital of france");
        ReadOnlyMemory<float> embedding = semantic ? new float[] { 1, 0 } : default;

        await cache.StoreAsync("acme", request, embedding, embeddingModel, "gpt-4o-mini", "Paris.", "stop", 12, 2, null, CancellationToken.None);
        var hit = await cache.LookupAsync("acme", request, embedding, embeddingModel, null, CancellationToken.None);

        Assert.True(hit is { Kind: "exact" },
            $"no exact hit for an answer just stored under {embeddingModel}: containers read {string.Join(", ", account.Read)}, written {string.Join(", ", account.Written)}");
        Assert.Equal("Paris.", hit.Answer.Content);
        Assert.Equal([container], account.Read.Distinct());
        Assert.Equal([container], account.Written);
    }

    [Fact]
    public async Task The_exact_read_goes_to_the_container_of_the_model_it_is_given_not_the_default_ones()
    {
        var account = new FakeCosmosAccount("cache-text-embedding-3-small", "cache-all-minilm-l6-v2");
        var store = Store(account);

        var miss = await store.GetExactAsync("acme", "scope", "text-embedding-3-small", "id-1", CancellationToken.None);

        Assert.Null(miss);
        Assert.Equal(["cache-text-embedding-3-small"], account.Read);
    }

    /// <summary>A Cosmos DB account with one database whose containers are the ones named: items are kept per container
    /// by partition key and id, and a call to any other container fails with the service's 404.</summary>
    private sealed class FakeCosmosAccount(params string[] containers) : CosmosClient
    {
        private readonly Dictionary<string, FakeContainer> _containers = containers.ToDictionary(c => c, c => new FakeContainer(c));

        public ConcurrentQueue<string> Read { get; } = new();

        public ConcurrentQueue<string> Written { get; } = new();

        public override Container GetContainer(string databaseId, string containerId) =>
            _containers.TryGetValue(containerId, out var container) ? new Recording(this, container) : new Recording(this, new FakeContainer(containerId, exists: false));

        private sealed class Recording(FakeCosmosAccount account, FakeContainer inner) : FakeContainerBase(inner.Id)
        {
            public override Task<ItemResponse<T>> ReadItemAsync<T>(string id, PartitionKey partitionKey, ItemRequestOptions? requestOptions = null, CancellationToken cancellationToken = default)
            {
                account.Read.Enqueue(Id);
                return inner.ReadItemAsync<T>(id, partitionKey, requestOptions, cancellationToken);
            }

            public override Task<ItemResponse<T>> UpsertItemAsync<T>(T item, PartitionKey? partitionKey = null, ItemRequestOptions? requestOptions = null, CancellationToken cancellationToken = default)
            {
                account.Written.Enqueue(Id);
                return inner.UpsertItemAsync(item, partitionKey, requestOptions, cancellationToken);
            }
        }
    }

    private sealed class FakeContainer(string id, bool exists = true) : FakeContainerBase(id)
    {
        private readonly ConcurrentDictionary<(string, string), object> _items = new();

        public override Task<ItemResponse<T>> ReadItemAsync<T>(string id, PartitionKey partitionKey, ItemRequestOptions? requestOptions = null, CancellationToken cancellationToken = default)
        {
            EnsureExists();
            return _items.TryGetValue((partitionKey.ToString(), id), out var item)
                ? Task.FromResult<ItemResponse<T>>(new FakeItemResponse<T>((T)item))
                : throw new CosmosException("Entity with the specified id does not exist in the system.", HttpStatusCode.NotFound, 0, "activity", 1);
        }

        public override Task<ItemResponse<T>> UpsertItemAsync<T>(T item, PartitionKey? partitionKey = null, ItemRequestOptions? requestOptions = null, CancellationToken cancellationToken = default)
        {
            EnsureExists();
            var stored = (CosmosResponseCacheStore.CacheItem)(object)item!;
            _items[(partitionKey!.Value.ToString(), stored.Id)] = item!;
            return Task.FromResult<ItemResponse<T>>(new FakeItemResponse<T>(default!));
        }

        private void EnsureExists()
        {
            if (!exists)
            {
                throw new CosmosException($"Resource Not Found: container {Id}", HttpStatusCode.NotFound, 0, "activity", 1);
            }
        }
    }

    private sealed class FakeItemResponse<T>(T resource) : ItemResponse<T>
    {
        public override T Resource => resource;

        public override HttpStatusCode StatusCode => HttpStatusCode.OK;

        public override double RequestCharge => 1;
    }
}
