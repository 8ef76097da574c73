using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Caching;

namespace Router.Core.Tests.Caching;

/// <summary>The embedded cache keeps answers once, in a byte-sized <see cref="MemoryCache"/>, and the index only their
/// vectors: what a full budget, an eviction and a concurrent store do to exact and semantic lookups.</summary>
public sealed class InProcessResponseCacheStoreConsistencyTests
{
    private const string EmbeddingModel = "all-MiniLM-L6-v2";
    private const long Budget = 1L << 20;

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task The_newest_answer_is_served_after_a_store_that_finds_the_byte_budget_full()
    {
        using var index = new VectorIndex<CachedAnswer>(new VectorIndexOptions(), _time);
        using var answers = new MemoryCache(new MemoryCacheOptions { SizeLimit = Budget, Clock = new TimeProviderClock(_time) });
        var store = new InProcessResponseCacheStore(index, answers, Budget, _time);

        // Four answers of ~216 KB each fill 1 MB to ~84 %; nothing has been refused yet, so no compaction has run.
        for (var i = 0; i < 4; i++)
        {
            await store.StoreAsync(Answer($"id-{i}", Long(i), Unit(i)), CancellationToken.None);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(4, answers.Count);

        // The newest does not fit the room left: the README promises the least recently used go first, so it is kept.
        await store.StoreAsync(Answer("newest", Long(4), Unit(4)), CancellationToken.None);

        Assert.NotNull(await store.GetExactAsync("tenant", "scope", EmbeddingModel, "newest", CancellationToken.None));
        Assert.Single(await store.SearchAsync("tenant", "scope", EmbeddingModel, Unit(4), 0.99f, 4, CancellationToken.None));
    }

    [Fact]
    public async Task Replacing_an_answer_when_the_byte_budget_is_full_leaves_the_old_or_the_new_one_cached()
    {
        using var index = new VectorIndex<CachedAnswer>(new VectorIndexOptions(), _time);
        using var answers = new MemoryCache(new MemoryCacheOptions { SizeLimit = Budget, Clock = new TimeProviderClock(_time) });
        var store = new InProcessResponseCacheStore(index, answers, Budget, _time);
        for (var i = 0; i < 4; i++)
        {
            await store.StoreAsync(Answer($"id-{i}", Long(i), Unit(i)), CancellationToken.None);
        }

        // The same id stored again with a longer answer that no longer fits: the cache refuses it and drops the prior one.
        await store.StoreAsync(Answer("id-0", Long(0), Unit(0)) with { Content = new string('y', 120_000) }, CancellationToken.None);

        Assert.NotNull(await store.GetExactAsync("tenant", "scope", EmbeddingModel, "id-0", CancellationToken.None));
    }

    [Fact]
    public async Task A_vector_stored_while_a_search_drops_its_expired_predecessor_stays_a_semantic_candidate()
    {
        using var index = new VectorIndex<CachedAnswer>(new VectorIndexOptions(), _time);
        using var inner = new MemoryCache(new MemoryCacheOptions { SizeLimit = Budget, Clock = new TimeProviderClock(_time) });
        var answers = new InterleavingCache(inner);
        var store = new InProcessResponseCacheStore(index, answers, Budget, _time);
        var embedding = Unit(0);
        await store.StoreAsync(Answer("id-1", "what is the capital of France?", embedding, TimeSpan.FromMinutes(1)), CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(2));

        // Another request stores the same prompt's fresh answer between the search's cache miss and its removal of the
        // vector (the interleaving two threads can take; run here in that order on one).
        var fresh = Answer("id-1", "what is the capital of France?", embedding, TimeSpan.FromDays(1));
        answers.OnNextMiss = () => store.StoreAsync(fresh, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        Assert.Empty(await store.SearchAsync("tenant", "scope", EmbeddingModel, embedding, 0.9f, 4, CancellationToken.None));

        Assert.NotNull(await store.GetExactAsync("tenant", "scope", EmbeddingModel, "id-1", CancellationToken.None));
        Assert.Single(await store.SearchAsync("tenant", "scope", EmbeddingModel, embedding, 0.9f, 4, CancellationToken.None));
    }

    [Fact]
    public async Task Evicted_answers_among_the_nearest_vectors_do_not_hide_a_cached_one_just_behind_them()
    {
        using var index = new VectorIndex<CachedAnswer>(new VectorIndexOptions(), _time);
        using var answers = new MemoryCache(new MemoryCacheOptions { SizeLimit = Budget, Clock = new TimeProviderClock(_time) });
        var store = new InProcessResponseCacheStore(index, answers, Budget, _time);
        var query = Unit(0);

        // Four near-identical prompts answered long ago, then one a little further away, read recently.
        for (var i = 0; i < 4; i++)
        {
            await store.StoreAsync(Answer($"old-{i}", $"old prompt {i}", Blend(query, Unit(10 + i), 0.02f)), CancellationToken.None);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        await store.StoreAsync(Answer("kept", "kept prompt", Blend(query, Unit(20), 0.2f)), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.NotNull(await store.GetExactAsync("tenant", "scope", EmbeddingModel, "kept", CancellationToken.None));

        // The budget lets the four least recently used go (as an overcapacity compaction would).
        answers.Compact(0.8);
        Assert.Equal(1, answers.Count);

        // Four candidates asked for (Router:Cache:Candidates); the one cached answer above the threshold is among the five.
        var candidates = await store.SearchAsync("tenant", "scope", EmbeddingModel, query, 0.9f, 4, CancellationToken.None);
        Assert.Equal("kept", Assert.Single(candidates).Answer.Id);
    }

    private static string Long(int i) => new string((char)('a' + i), 100_000) + i;

    private static float[] Unit(int axis)
    {
        var v = new float[384];
        v[axis] = 1f;
        return v;
    }

    private static float[] Blend(float[] a, float[] b, float weight)
    {
        var v = new float[a.Length];
        for (var i = 0; i < v.Length; i++)
        {
            v[i] = ((1 - weight) * a[i]) + (weight * b[i]);
        }

        return v;
    }

    private CachedAnswer Answer(string id, string prompt, float[] embedding, TimeSpan? ttl = null) => new()
    {
        Id = id,
        TenantId = "tenant",
        Scope = "scope",
        Prompt = prompt,
        Embedding = embedding,
        EmbeddingModel = EmbeddingModel,
        Content = prompt.Length > 100 ? new string('x', 8_000) : "answer to " + prompt,
        Model = "gpt-4o-mini",
        CreatedAt = _time.GetUtcNow(),
        ExpiresAt = _time.GetUtcNow() + (ttl ?? TimeSpan.FromDays(1)),
    };

    /// <summary>A cache that runs an action once, at the next lookup that misses, before answering it.</summary>
    private sealed class InterleavingCache(IMemoryCache inner) : IMemoryCache
    {
        public Action? OnNextMiss { get; set; }

        public bool TryGetValue(object key, out object? value)
        {
            if (inner.TryGetValue(key, out value))
            {
                return true;
            }

            var action = OnNextMiss;
            OnNextMiss = null;
            action?.Invoke();
            value = null;
            return false;
        }

        public ICacheEntry CreateEntry(object key) => inner.CreateEntry(key);

        public void Remove(object key) => inner.Remove(key);

        public void Dispose() => inner.Dispose();
    }
}
