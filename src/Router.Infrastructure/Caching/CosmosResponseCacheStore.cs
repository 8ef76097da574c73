using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Newtonsoft.Json;
using Router.Core.Caching;

namespace Router.Infrastructure.Caching;

/// <summary>The response cache in Cosmos DB for NoSQL: exact hits are point reads by id, semantic lookups a
/// <c>SELECT TOP k … ORDER BY VectorDistance(…)</c> inside the (tenant, scope) partition, so a query can only ever see its
/// own tenant's answers. Item TTLs expire answers; the RU charge of every call is logged.</summary>
internal sealed partial class CosmosResponseCacheStore(CosmosClient client, IOptions<CosmosCacheOptions> options, TimeProvider time, ILogger<CosmosResponseCacheStore> logger) : IResponseCacheStore
{
    // Keyed by embedding model: the models of one family (a model and its -int8 form) share a container, and each asks
    // for it once (CreateIfNotExists is idempotent).
    private readonly CreatedOnFirstUse<Container> _containers = new((embeddingModel, ct) => CreateContainerAsync(client, options.Value, embeddingModel, ct));

    public async ValueTask<CachedAnswer?> GetExactAsync(string tenantId, string scope, string embeddingModel, string id, CancellationToken cancellationToken)
    {
        // The container StoreAsync writes an answer of this embedding model to.
        var container = await ContainerAsync(embeddingModel, cancellationToken);
        try
        {
            var response = await container.ReadItemAsync<CacheItem>(id, PartitionKeyOf(tenantId, scope), cancellationToken: cancellationToken);
            Log.Charge(logger, "read", response.RequestCharge);
            return response.Resource.ToAnswer(null);
        }
        catch (CosmosException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            Log.Charge(logger, "read-miss", ex.RequestCharge);
            return null;
        }
    }

    public async ValueTask<IReadOnlyList<CacheCandidate>> SearchAsync(string tenantId, string scope, string embeddingModel, ReadOnlyMemory<float> embedding, float minSimilarity, int top, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(embeddingModel, cancellationToken);
        var query = SearchQuery(tenantId, scope, embeddingModel, embedding, top);
        var results = new List<CacheCandidate>(top);
        double charge = 0;
        using var iterator = container.GetItemQueryIterator<CacheItem>(query, requestOptions: new QueryRequestOptions { PartitionKey = PartitionKeyOf(tenantId, scope), MaxItemCount = top });
        while (iterator.HasMoreResults)
        {
            var page = await iterator.ReadNextAsync(cancellationToken);
            charge += page.RequestCharge;
            foreach (var item in page)
            {
                if (item.Similarity is { } similarity && similarity >= minSimilarity)
                {
                    results.Add(new CacheCandidate(item.ToAnswer(embeddingModel), (float)similarity));
                }
            }
        }

        Log.Charge(logger, "vector-search", charge);
        return results;
    }

    public async ValueTask StoreAsync(CachedAnswer answer, CancellationToken cancellationToken)
    {
        var container = await ContainerAsync(answer.EmbeddingModel, cancellationToken);
        var ttl = (int)Math.Max(1, (answer.ExpiresAt - time.GetUtcNow()).TotalSeconds);
        var response = await container.UpsertItemAsync(CacheItem.From(answer, ttl), PartitionKeyOf(answer.TenantId, answer.Scope), cancellationToken: cancellationToken);
        Log.Charge(logger, "upsert", response.RequestCharge);
    }

    /// <summary>The semantic query: top-k by vector distance within one tenant, scope and embedding model.</summary>
    internal static QueryDefinition SearchQuery(string tenantId, string scope, string embeddingModel, ReadOnlyMemory<float> embedding, int top) =>
        new QueryDefinition(
                "SELECT TOP @top c.id, c.tenantId, c.scope, c.prompt, c.embeddingModel, c.answer, c.finishReason, c.model, "
                + "c.promptTokens, c.completionTokens, c.createdAt, c.expiresAt, VectorDistance(c.embedding, @embedding) AS similarity "
                + "FROM c WHERE c.tenantId = @tenant AND c.scope = @scope AND c.embeddingModel = @model "
                + "ORDER BY VectorDistance(c.embedding, @embedding)")
            .WithParameter("@top", top)
            .WithParameter("@embedding", embedding.ToArray())
            .WithParameter("@tenant", tenantId)
            .WithParameter("@scope", scope)
            .WithParameter("@model", embeddingModel);

    internal static PartitionKey PartitionKeyOf(string tenantId, string scope) => new PartitionKeyBuilder().Add(tenantId).Add(scope).Build();

    private const string DefaultModel = "all-MiniLM-L6-v2";

    // Exact reads, searches and writes all pick their container here, so an answer is read where it was written. An
    // answer without a model (a caller that sets none) goes with the default model's.
    private Task<Container> ContainerAsync(string embeddingModel, CancellationToken cancellationToken) =>
        _containers.GetAsync(embeddingModel.Length > 0 ? embeddingModel : DefaultModel, cancellationToken);

    private static async Task<Container> CreateContainerAsync(CosmosClient client, CosmosCacheOptions settings, string embeddingModel, CancellationToken cancellationToken)
    {
        if (!settings.CreateIfMissing)
        {
            return client.GetContainer(settings.Database, CosmosCacheContainer.NameFor(embeddingModel));
        }

        var database = await client.CreateDatabaseIfNotExistsAsync(settings.Database, cancellationToken: cancellationToken);
        var container = await database.Database.CreateContainerIfNotExistsAsync(CosmosCacheContainer.Definition(embeddingModel), cancellationToken: cancellationToken);
        return container.Container;
    }

    /// <summary>A cache item as stored in Cosmos DB.</summary>
    internal sealed class CacheItem
    {
        [JsonProperty("id")] public string Id { get; set; } = "";
        [JsonProperty("tenantId")] public string TenantId { get; set; } = "";
        [JsonProperty("scope")] public string Scope { get; set; } = "";
        [JsonProperty("prompt")] public string Prompt { get; set; } = "";
        [JsonProperty("embedding", NullValueHandling = NullValueHandling.Ignore)] public float[]? Embedding { get; set; }
        [JsonProperty("embeddingModel")] public string EmbeddingModel { get; set; } = "";
        [JsonProperty("answer")] public string Answer { get; set; } = "";
        [JsonProperty("finishReason")] public string FinishReason { get; set; } = "stop";
        [JsonProperty("model")] public string Model { get; set; } = "";
        [JsonProperty("promptTokens")] public int PromptTokens { get; set; }
        [JsonProperty("completionTokens")] public int CompletionTokens { get; set; }
        [JsonProperty("createdAt")] public DateTimeOffset CreatedAt { get; set; }
        [JsonProperty("expiresAt")] public DateTimeOffset ExpiresAt { get; set; }
        [JsonProperty("ttl", NullValueHandling = NullValueHandling.Ignore)] public int? Ttl { get; set; }
        [JsonProperty("similarity", NullValueHandling = NullValueHandling.Ignore)] public double? Similarity { get; set; }

        public static CacheItem From(CachedAnswer a, int ttl) => new()
        {
            Id = a.Id,
            TenantId = a.TenantId,
            Scope = a.Scope,
            Prompt = a.Prompt,
            Embedding = a.Embedding.Length > 0 ? a.Embedding : null,
            EmbeddingModel = a.EmbeddingModel,
            Answer = a.Content,
            FinishReason = a.FinishReason,
            Model = a.Model,
            PromptTokens = a.PromptTokens,
            CompletionTokens = a.CompletionTokens,
            CreatedAt = a.CreatedAt,
            ExpiresAt = a.ExpiresAt,
            Ttl = ttl,
        };

        public CachedAnswer ToAnswer(string? embeddingModel) => new()
        {
            Id = Id,
            TenantId = TenantId,
            Scope = Scope,
            Prompt = Prompt,
            EmbeddingModel = embeddingModel ?? EmbeddingModel,
            Content = Answer,
            FinishReason = FinishReason,
            Model = Model,
            PromptTokens = PromptTokens,
            CompletionTokens = CompletionTokens,
            CreatedAt = CreatedAt,
            ExpiresAt = ExpiresAt,
        };
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1204, Level = LogLevel.Debug, Message = "Cosmos cache {Operation} cost {RequestCharge:0.##} RU")]
        public static partial void Charge(ILogger logger, string operation, double requestCharge);
    }
}
