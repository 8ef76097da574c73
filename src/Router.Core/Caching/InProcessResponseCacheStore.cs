using Microsoft.Extensions.Caching.Memory;

namespace Router.Core.Caching;

/// <summary>The embedded cache: answers in a <see cref="MemoryCache"/> whose sizes are their approximate bytes, the one
/// place their text is kept; the in-process vector index holds only their vectors (one partition per tenant, scope and
/// embedding model), so an answer the cache lets go is no longer a semantic candidate either.</summary>
internal sealed class InProcessResponseCacheStore(IVectorIndex<CachedAnswer> index, IMemoryCache answers) : IResponseCacheStore
{
    /// <summary>Bytes an answer costs beyond its strings' characters: the record, its key and cache entry (~350 measured)
    /// and the headers of its strings.</summary>
    internal const int AnswerOverheadBytes = 512;

    // The index needs a value per entry, but a semantic candidate is read from the exact cache by id: an answer the index
    // held as well would outlive its eviction from the cache, outside the byte budget (and an eviction callback to drop it
    // would keep it alive until the thread pool ran it).
    private static readonly CachedAnswer Indexed = new() { Id = "", TenantId = "", Scope = "", Prompt = "", Content = "", Model = "" };

    /// <summary>The approximate managed bytes an answer holds once stored here (UTF-16 text plus fixed overhead).</summary>
    internal static long SizeOf(CachedAnswer answer) =>
        AnswerOverheadBytes + (2L * ((long)answer.Prompt.Length + answer.Content.Length + answer.Id.Length + answer.TenantId.Length
            + answer.Scope.Length + answer.Model.Length + answer.EmbeddingModel.Length + answer.FinishReason.Length));

    public ValueTask<CachedAnswer?> GetExactAsync(string tenantId, string scope, string id, CancellationToken cancellationToken) =>
        ValueTask.FromResult(answers.TryGetValue(Key(tenantId, scope, id), out CachedAnswer? answer) ? answer : null);

    public ValueTask<IReadOnlyList<CacheCandidate>> SearchAsync(string tenantId, string scope, string embeddingModel, ReadOnlyMemory<float> embedding, float minSimilarity, int top, CancellationToken cancellationToken)
    {
        Span<VectorMatch<CachedAnswer>> matches = new VectorMatch<CachedAnswer>[top];
        var partition = new CacheScope(tenantId, scope + "|" + embeddingModel);
        var found = index.Search(partition, embedding.Span, minSimilarity, matches);
        var candidates = new List<CacheCandidate>(found);
        for (var i = 0; i < found; i++)
        {
            if (answers.TryGetValue(Key(tenantId, scope, matches[i].Id), out CachedAnswer? answer) && answer is not null)
            {
                candidates.Add(new CacheCandidate(answer, matches[i].Similarity));
            }
            else
            {
                // The cache let the answer go (budget or expiry): its vector goes now rather than waiting for the index's LRU.
                index.Remove(partition, matches[i].Id);
            }
        }

        return ValueTask.FromResult<IReadOnlyList<CacheCandidate>>(candidates);
    }

    public ValueTask StoreAsync(CachedAnswer answer, CancellationToken cancellationToken)
    {
        var key = Key(answer.TenantId, answer.Scope, answer.Id);

        // The index keeps its own normalised copy of the vector; lookups never read the answer's.
        var kept = answer.Embedding.Length > 0 ? answer with { Embedding = [] } : answer;
        answers.Set(key, kept, new MemoryCacheEntryOptions { AbsoluteExpiration = answer.ExpiresAt, Size = SizeOf(kept) });

        // An answer the cache turned away (larger than the room it has) is not indexed either.
        if (answer.Embedding.Length > 0 && answers.TryGetValue(key, out CachedAnswer? held) && ReferenceEquals(held, kept))
        {
            var partition = new CacheScope(answer.TenantId, answer.Scope + "|" + answer.EmbeddingModel);
            index.Upsert(partition, answer.Id, CacheKey.Compute(partition, answer.Prompt), answer.Embedding, Indexed);
        }

        return ValueTask.CompletedTask;
    }

    // A boxed struct, not a joined string: one small object per lookup instead of a copy of all three.
    private static ExactKey Key(string tenantId, string scope, string id) => new(tenantId, scope, id);

    private readonly record struct ExactKey(string TenantId, string Scope, string Id);
}
