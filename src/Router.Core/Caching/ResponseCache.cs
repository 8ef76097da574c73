namespace Router.Core.Caching;

/// <summary>A cached answer with what is needed to find it again and to judge a semantic match.</summary>
public sealed record CachedAnswer
{
    /// <summary>The exact key (hex SHA-256 of tenant, context and prompt); the item id.</summary>
    public required string Id { get; init; }

    /// <summary>The tenant; an answer is only ever served to its own tenant.</summary>
    public required string TenantId { get; init; }

    /// <summary>Fingerprint of everything but the final user turn (system prompt, earlier turns, tools, format, sampling, model scope).</summary>
    public required string Scope { get; init; }

    /// <summary>The final user turn the answer was given to (for the semantic guards).</summary>
    public required string Prompt { get; init; }

    /// <summary>The prompt's embedding (empty when embeddings are off: exact hits only).</summary>
    public float[] Embedding { get; init; } = [];

    /// <summary>The embedding model that produced <see cref="Embedding"/>.</summary>
    public string EmbeddingModel { get; init; } = "";

    /// <summary>The answer text.</summary>
    public required string Content { get; init; }

    /// <summary>The answer's finish reason.</summary>
    public string FinishReason { get; init; } = "stop";

    /// <summary>Catalog id of the model that answered.</summary>
    public required string Model { get; init; }

    /// <summary>Prompt tokens of the original call.</summary>
    public int PromptTokens { get; init; }

    /// <summary>Completion tokens of the answer.</summary>
    public int CompletionTokens { get; init; }

    /// <summary>When it was stored.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it stops being served.</summary>
    public DateTimeOffset ExpiresAt { get; init; }
}

/// <summary>A semantic candidate: an answer and how similar its prompt is.</summary>
/// <param name="Answer">The cached answer.</param>
/// <param name="Similarity">Cosine similarity of the prompts' embeddings.</param>
public readonly record struct CacheCandidate(CachedAnswer Answer, float Similarity);

/// <summary>A served cache hit.</summary>
/// <param name="Answer">The answer.</param>
/// <param name="Kind"><c>exact</c> or <c>semantic</c>.</param>
/// <param name="Similarity">Similarity of a semantic hit.</param>
public sealed record CacheHit(CachedAnswer Answer, string Kind, float? Similarity);

/// <summary>Where cached answers live: Cosmos DB in Azure, an in-process index embedded. Every call is scoped to one
/// tenant and context, so no answer can cross tenants.</summary>
public interface IResponseCacheStore
{
    /// <summary>The answer stored under an exact key, if any, among answers stored with <paramref name="embeddingModel"/>
    /// as their <see cref="CachedAnswer.EmbeddingModel"/>: a store that keeps answers apart by embedding model (Cosmos DB,
    /// one container per model) reads where <see cref="StoreAsync"/> wrote them; one that does not may ignore it.</summary>
    ValueTask<CachedAnswer?> GetExactAsync(string tenantId, string scope, string embeddingModel, string id, CancellationToken cancellationToken);

    /// <summary>The most similar answers in the same tenant and scope, best first, at or above <paramref name="minSimilarity"/>.</summary>
    ValueTask<IReadOnlyList<CacheCandidate>> SearchAsync(string tenantId, string scope, string embeddingModel, ReadOnlyMemory<float> embedding, float minSimilarity, int top, CancellationToken cancellationToken);

    /// <summary>Stores (or replaces) an answer.</summary>
    ValueTask StoreAsync(CachedAnswer answer, CancellationToken cancellationToken);

    /// <summary>True when lookups answer in the calling thread without I/O (the in-process index): they cannot hang or be
    /// throttled, so they run without the <see cref="SemanticCacheOptions.LookupTimeout"/> bound and its timer.</summary>
    bool LookupsAreInProcess => false;
}
