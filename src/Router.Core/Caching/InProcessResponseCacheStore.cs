using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;

namespace Router.Core.Caching;

/// <summary>The embedded cache: answers in a <see cref="MemoryCache"/> whose sizes are their approximate bytes, the one
/// place their text is kept; the in-process vector index holds only their vectors (one partition per tenant, scope and
/// embedding model), so an answer the cache lets go is no longer a semantic candidate either.</summary>
/// <param name="index">The answers' vectors.</param>
/// <param name="answers">The answers, sized in bytes; a <see cref="MemoryCache"/> is compacted at once when full.</param>
/// <param name="maxAnswerBytes">The cache's size limit: an answer larger than it is turned away without a compaction.</param>
/// <param name="timeProvider">The router's clock: an answer already expired when it arrives is not stored.</param>
/// <param name="tenantShare">The share of the budget one tenant's answers may hold once the cache is full: a tenant past
/// it makes room for a new answer from its own oldest answers, not from other tenants' (1 = no share).</param>
internal sealed class InProcessResponseCacheStore(
    IVectorIndex<CachedAnswer> index, IMemoryCache answers, long maxAnswerBytes, TimeProvider timeProvider, double tenantShare = 1.0)
    : IResponseCacheStore
{
    /// <summary>Bytes an answer costs beyond its strings' characters: the record, its key and cache entry (~350 measured)
    /// and the headers of its strings.</summary>
    internal const int AnswerOverheadBytes = 512;

    // A store that finds the budget full compacts this share of the answers first (MemoryCache's own default
    // CompactionPercentage), so the stores right after it find room instead of each compacting again.
    private const double CompactionShare = 0.05;

    // Matches asked of the index beyond those wanted, at least: the nearest vectors may be of answers the cache let go.
    private const int ExtraMatches = 4;

    private const int Stripes = 64;

    // The index needs a value per entry, but a semantic candidate is read from the exact cache by id: an answer the index
    // held as well would outlive its eviction from the cache, outside the byte budget (and an eviction callback to drop it
    // would keep it alive until the thread pool ran it).
    private static readonly CachedAnswer Indexed = new() { Id = "", TenantId = "", Scope = "", Prompt = "", Content = "", Model = "" };

    // A store of an id and a search's removal of that id's stale vector take the same stripe, so the removal cannot land
    // between a fresh answer's caching and its indexing; hits take none.
    private readonly Lock[] _stripes = [.. Enumerable.Range(0, Stripes).Select(static _ => new Lock())];

    // One store compacts at a time, the others wait and then find the room it made; taken inside a stripe, never the
    // other way round.
    private readonly Lock _compaction = new();

    private readonly ConcurrentDictionary<string, TenantAnswers> _tenants = new(StringComparer.Ordinal);

    private readonly long _tenantLimit = (long)(maxAnswerBytes * Math.Clamp(tenantShare, 0, 1));

    /// <summary>Answers charged to their tenants whose eviction callbacks have not run yet, plus those cached: equal to
    /// the cache's count once the thread pool has run the callbacks (for tests).</summary>
    internal long ChargedAnswers => _tenants.Values.Sum(static t => Interlocked.Read(ref t.Live));

    /// <summary>The approximate managed bytes an answer holds once stored here (UTF-16 text plus fixed overhead).</summary>
    internal static long SizeOf(CachedAnswer answer) =>
        AnswerOverheadBytes + (2L * ((long)answer.Prompt.Length + answer.Content.Length + answer.Id.Length + answer.TenantId.Length
            + answer.Scope.Length + answer.Model.Length + answer.EmbeddingModel.Length + answer.FinishReason.Length));

    public bool LookupsAreInProcess => true;

    // One process, one embedding model: exact answers are keyed by tenant, scope and id alone.
    public ValueTask<CachedAnswer?> GetExactAsync(string tenantId, string scope, string embeddingModel, string id, CancellationToken cancellationToken) =>
        ValueTask.FromResult(answers.TryGetValue(Key(tenantId, scope, id), out CachedAnswer? answer) ? answer : null);

    public ValueTask<IReadOnlyList<CacheCandidate>> SearchAsync(string tenantId, string scope, string embeddingModel, ReadOnlyMemory<float> embedding, float minSimilarity, int top, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        Span<VectorMatch<CachedAnswer>> matches = new VectorMatch<CachedAnswer>[top + Math.Max(top, ExtraMatches)];
        var partition = new CacheScope(tenantId, scope + "|" + embeddingModel);
        var found = index.Search(partition, embedding.Span, minSimilarity, matches);
        var candidates = new List<CacheCandidate>(Math.Min(found, top));
        for (var i = 0; i < found && candidates.Count < top; i++)
        {
            var key = Key(tenantId, scope, matches[i].Id);
            if (answers.TryGetValue(key, out CachedAnswer? answer) && answer is not null)
            {
                candidates.Add(new CacheCandidate(answer, matches[i].Similarity));
                continue;
            }

            // The cache let the answer go (budget or expiry): its vector goes now rather than waiting for the index's LRU,
            // unless a fresh answer was stored under the id since the miss (its vector replaced this one).
            lock (Stripe(key))
            {
                if (!answers.TryGetValue(key, out _))
                {
                    index.Remove(partition, matches[i].Id);
                }
            }
        }

        return ValueTask.FromResult<IReadOnlyList<CacheCandidate>>(candidates);
    }

    public ValueTask StoreAsync(CachedAnswer answer, CancellationToken cancellationToken)
    {
        var key = Key(answer.TenantId, answer.Scope, answer.Id);

        // The index keeps its own normalised copy of the vector; lookups never read the answer's.
        var kept = answer.Embedding.Length > 0 ? answer with { Embedding = [] } : answer;
        lock (Stripe(key))
        {
            // An answer the cache turned away (larger than the whole budget) is not indexed either.
            if (Cache(key, kept) && answer.Embedding.Length > 0)
            {
                var partition = new CacheScope(answer.TenantId, answer.Scope + "|" + answer.EmbeddingModel);
                index.Upsert(partition, answer.Id, CacheKey.Compute(partition, answer.Prompt), answer.Embedding, Indexed);
            }
        }

        return ValueTask.CompletedTask;
    }

    // MemoryCache turns away an answer that does not fit the room left (dropping the one it replaces) and only schedules
    // a compaction on the thread pool, so this answer and every store until that has run would be lost: the room is made
    // here. A tenant past its share makes it from its own oldest answers first; otherwise, or when that is not enough,
    // the least recently used answers of all go. No room would do for an answer larger than the budget or expired on
    // arrival, so those leave the cache as it was.
    private bool Cache(ExactKey key, CachedAnswer kept)
    {
        var size = SizeOf(kept);
        if (size > maxAnswerBytes || Expired(kept))
        {
            return false;
        }

        var tenant = _tenants.GetOrAdd(kept.TenantId, static _ => new TenantAnswers());
        if (TrySet(key, kept, size, tenant) || MakeRoomFromOwn(tenant, key, kept, size))
        {
            return true;
        }

        if (answers is not MemoryCache cache)
        {
            return false;
        }

        lock (_compaction)
        {
            // Compact removes a count of answers, not bytes, and the least recently used may be small: the share doubles
            // until the answer fits, all of them at the most (six compactions), so an answer within the budget is kept.
            for (var share = CompactionShare; ; share = Math.Min(1.0, share * 2))
            {
                // A store that compacted while this one waited may have left room enough.
                if (TrySet(key, kept, size, tenant))
                {
                    return true;
                }

                var count = cache.Count;
                if (count == 0 || Expired(kept))
                {
                    return false;
                }

                // The share rounded down is whole answers: half an answer more makes it at least one.
                cache.Compact(Math.Min(1.0, Math.Max(share, 1.0 / count) + (0.5 / count)));
                if (share >= 1.0)
                {
                    return TrySet(key, kept, size, tenant);
                }
            }
        }
    }

    // The cache is full: a tenant holding more than its share gives up its own oldest answers until the new one fits or
    // it is back within its share. One tenant alone still uses the whole budget, least recently used first; one sending
    // long prompts by the thousand no longer empties every other tenant's cache.
    private bool MakeRoomFromOwn(TenantAnswers tenant, ExactKey key, CachedAnswer kept, long size)
    {
        // With the share off, or no other tenant's answers to protect, the least recently used go as they always did.
        if (_tenantLimit >= maxAnswerBytes || !_tenants.Values.Any(t => t != tenant && Interlocked.Read(ref t.Bytes) > 0))
        {
            return false;
        }

        lock (tenant.Gate)
        {
            while (Interlocked.Read(ref tenant.Bytes) + size > _tenantLimit && tenant.Order.TryDequeue(out var oldest))
            {
                if (oldest.Charge.IsSettled)
                {
                    continue;   // already evicted, expired or replaced
                }

                // (A replacement whose callback has not run yet goes too: the tenant is past its share either way.)
                answers.Remove(oldest.Key);
                oldest.Charge.Settle();

                if (TrySet(key, kept, size, tenant))
                {
                    return true;
                }
            }
        }

        return false;
    }

    // Every attempt is charged to its tenant until MemoryCache lets the entry go (an attempt it turned away included):
    // its eviction callback, or the tenant's own eviction above, settles the charge once.
    private bool TrySet(ExactKey key, CachedAnswer kept, long size, TenantAnswers tenant)
    {
        var charge = new Charge(tenant, size);
        var options = new MemoryCacheEntryOptions { AbsoluteExpiration = kept.ExpiresAt, Size = size };
        options.RegisterPostEvictionCallback(static (_, _, _, state) => ((Charge)state!).Settle(), charge);
        answers.Set(key, kept, options);
        if (!answers.TryGetValue(key, out CachedAnswer? held) || !ReferenceEquals(held, kept))
        {
            // Turned away: its charge goes now, not when the callback gets to run, or the tenant would look past its
            // share by this very answer and give up its own answers for it.
            charge.Settle();
            return false;
        }

        lock (tenant.Gate)
        {
            tenant.Order.Enqueue(new Held(key, charge));

            // Answers the cache let go by itself stay in the queue until they come up: past twice the live ones (and a
            // floor), the queue keeps only the live.
            if (tenant.Order.Count > 64 + (2 * Interlocked.Read(ref tenant.Live)))
            {
                var live = tenant.Order.Where(static h => !h.Charge.IsSettled).ToArray();
                tenant.Order.Clear();
                foreach (var entry in live)
                {
                    tenant.Order.Enqueue(entry);
                }
            }
        }

        return true;
    }

    private bool Expired(CachedAnswer answer) => answer.ExpiresAt <= timeProvider.GetUtcNow();

    private Lock Stripe(ExactKey key) => _stripes[(int)((uint)key.GetHashCode() % Stripes)];

    // A boxed struct, not a joined string: one small object per lookup instead of a copy of all three.
    private static ExactKey Key(string tenantId, string scope, string id) => new(tenantId, scope, id);

    private readonly record struct ExactKey(string TenantId, string Scope, string Id);

    // The key and its charge only: an answer the cache let go is not kept alive by the queue.
    private readonly record struct Held(ExactKey Key, Charge Charge);

    /// <summary>One tenant's answers: their bytes as charged and their keys, oldest first.</summary>
    private sealed class TenantAnswers
    {
        public readonly Lock Gate = new();
        public readonly Queue<Held> Order = new();
        public long Bytes;
        public long Live;
    }

    /// <summary>What one cache entry charges its tenant, given back exactly once.</summary>
    private sealed class Charge
    {
        private readonly TenantAnswers _tenant;
        private readonly long _size;
        private int _settled;

        public Charge(TenantAnswers tenant, long size)
        {
            _tenant = tenant;
            _size = size;
            Interlocked.Add(ref tenant.Bytes, size);
            Interlocked.Increment(ref tenant.Live);
        }

        public bool IsSettled => Volatile.Read(ref _settled) != 0;

        public void Settle()
        {
            if (Interlocked.Exchange(ref _settled, 1) == 0)
            {
                Interlocked.Add(ref _tenant.Bytes, -_size);
                Interlocked.Decrement(ref _tenant.Live);
            }
        }
    }
}
