using Microsoft.Extensions.Caching.Memory;

namespace Router.Core.Caching;

/// <summary>The embedded cache: exact answers in a size-bounded <see cref="MemoryCache"/>, semantic ones in the
/// in-process vector index (one partition per tenant, scope and embedding model; least recently used evicted).</summary>
internal sealed class InProcessResponseCacheStore(IVectorIndex<CachedAnswer> index, IMemoryCache exact) : IResponseCacheStore
{
    public ValueTask<CachedAnswer?> GetExactAsync(string tenantId, string scope, string id, CancellationToken cancellationToken) =>
        ValueTask.FromResult(exact.TryGetValue(Key(tenantId, scope, id), out CachedAnswer? answer) ? answer : null);

    public ValueTask<IReadOnlyList<CacheCandidate>> SearchAsync(string tenantId, string scope, string embeddingModel, ReadOnlyMemory<float> embedding, float minSimilarity, int top, CancellationToken cancellationToken)
    {
        Span<VectorMatch<CachedAnswer>> matches = new VectorMatch<CachedAnswer>[top];
        var found = index.Search(new CacheScope(tenantId, scope + "|" + embeddingModel), embedding.Span, minSimilarity, matches);
        var candidates = new CacheCandidate[found];
        for (var i = 0; i < found; i++)
        {
            candidates[i] = new CacheCandidate(matches[i].Value, matches[i].Similarity);
        }

        return ValueTask.FromResult<IReadOnlyList<CacheCandidate>>(candidates);
    }

    public ValueTask StoreAsync(CachedAnswer answer, CancellationToken cancellationToken)
    {
        exact.Set(Key(answer.TenantId, answer.Scope, answer.Id), answer, new MemoryCacheEntryOptions
        {
            AbsoluteExpiration = answer.ExpiresAt,
            Size = 1,
        });
        if (answer.Embedding.Length > 0)
        {
            var scope = new CacheScope(answer.TenantId, answer.Scope + "|" + answer.EmbeddingModel);
            index.Upsert(scope, answer.Id, CacheKey.Compute(scope, answer.Prompt), answer.Embedding, answer);
        }

        return ValueTask.CompletedTask;
    }

    // A boxed struct, not a joined string: one small object per lookup instead of a copy of all three.
    private static ExactKey Key(string tenantId, string scope, string id) => new(tenantId, scope, id);

    private readonly record struct ExactKey(string TenantId, string Scope, string Id);
}
