using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Caching;

namespace Router.Core.Tests.Caching;

/// <summary>From the review of the tenant share of a full embedded cache (Router:Cache:Index:MaxTenantShare): which
/// answers make room for a new one, for a tenant within its share and with the share turned off.</summary>
public sealed class InProcessResponseCacheStoreTenantShareReviewTests
{
    private const string EmbeddingModel = "all-MiniLM-L6-v2";
    private const long Budget = 1L << 20;

    // About 100 KB an answer: ten fit the 1 MB budget, an eleventh does not.
    private const int PromptChars = 50_000;

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task With_the_share_turned_off_a_full_cache_still_evicts_the_least_recently_used_answer_not_the_oldest()
    {
        // README: "1 turns it off". No background overcapacity compaction, so only the store's own evictions count.
        using var answers = new MemoryCache(new MemoryCacheOptions { SizeLimit = Budget, CompactionPercentage = 0, Clock = new TimeProviderClock(_time) });
        using var index = new VectorIndex<CachedAnswer>(new VectorIndexOptions(), _time);
        var store = new InProcessResponseCacheStore(index, answers, Budget, _time, tenantShare: 1.0);
        for (var i = 0; i < 10; i++)
        {
            await store.StoreAsync(Answer($"doc-{i}", "tenant"), CancellationToken.None);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(10, answers.Count);

        // doc-0 is the tenant's most asked answer: read just now, so doc-1 is the least recently used.
        Assert.NotNull(await store.GetExactAsync("tenant", "scope", EmbeddingModel, "doc-0", CancellationToken.None));
        _time.Advance(TimeSpan.FromSeconds(1));

        await store.StoreAsync(Answer("doc-10", "tenant"), CancellationToken.None);

        Assert.NotNull(await store.GetExactAsync("tenant", "scope", EmbeddingModel, "doc-10", CancellationToken.None));
        Assert.True(await store.GetExactAsync("tenant", "scope", EmbeddingModel, "doc-0", CancellationToken.None) is not null,
            "the answer read just now was evicted as the tenant's oldest, though MaxTenantShare = 1 is documented to turn the share off (LRU)");
    }

    [Fact]
    public async Task A_tenant_within_its_share_does_not_give_up_its_own_answers_for_the_charge_of_its_refused_attempt()
    {
        // The eviction callbacks MemoryCache runs on the thread pool are held back (as they are for the moment after a
        // refused Set), so whether they have run yet does not decide the test.
        using var answers = new DeferringMemoryCache(new MemoryCacheOptions { SizeLimit = Budget, CompactionPercentage = 0, Clock = new TimeProviderClock(_time) });
        using var index = new VectorIndex<CachedAnswer>(new VectorIndexOptions(), _time);
        var store = new InProcessResponseCacheStore(index, answers, Budget, _time, tenantShare: 0.5);

        // The victim holds four answers (~400 KB, within its half of 1 MB), the flooder six (~600 KB, past its half).
        for (var i = 0; i < 4; i++)
        {
            await store.StoreAsync(Answer($"v-{i}", "victim"), CancellationToken.None);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        for (var i = 0; i < 6; i++)
        {
            await store.StoreAsync(Answer($"f-{i}", "flooder"), CancellationToken.None);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(10, answers.Count);

        // The victim's answers are read now: the flooder's are the least recently used.
        for (var i = 0; i < 4; i++)
        {
            Assert.NotNull(await store.GetExactAsync("victim", "scope", EmbeddingModel, $"v-{i}", CancellationToken.None));
        }

        _time.Advance(TimeSpan.FromSeconds(1));

        // A fifth answer keeps the victim within its share (~500 KB of 512 KB): the room comes from the least recently
        // used answers (the flooder's), not from the victim's own.
        await store.StoreAsync(Answer("v-4", "victim"), CancellationToken.None);

        Assert.NotNull(await store.GetExactAsync("victim", "scope", EmbeddingModel, "v-4", CancellationToken.None));
        Assert.True(await store.GetExactAsync("victim", "scope", EmbeddingModel, "v-0", CancellationToken.None) is not null,
            "a tenant within its share evicted its own answer: the charge of its refused first Set was counted with the new answer's size");
    }

    private static string Prompt(string id) => (id + new string('p', PromptChars))[..PromptChars];

    private static float[] Unit(string id)
    {
        var v = new float[384];
        v[(int)((uint)StringComparer.Ordinal.GetHashCode(id) % 384)] = 1f;
        v[(id.Length * 7) % 384] += 0.5f;
        return v;
    }

    private CachedAnswer Answer(string id, string tenant) => new()
    {
        Id = id,
        TenantId = tenant,
        Scope = "scope",
        Prompt = Prompt(id),
        Embedding = Unit(id),
        EmbeddingModel = EmbeddingModel,
        Content = "answer",
        Model = "gpt-4o-mini",
        CreatedAt = _time.GetUtcNow(),
        ExpiresAt = _time.GetUtcNow() + TimeSpan.FromDays(1),
    };

    /// <summary>A <see cref="MemoryCache"/> (so the store compacts it) whose post-eviction callbacks are held back (never
    /// run), as if the thread pool had not got to them yet.</summary>
    private sealed class DeferringMemoryCache(MemoryCacheOptions options) : MemoryCache(options), IMemoryCache
    {
        private readonly Queue<Action> _callbacks = new();

        ICacheEntry IMemoryCache.CreateEntry(object key) => new Entry(CreateEntry(key), this);

        private void Defer(Action callback)
        {
            lock (_callbacks)
            {
                _callbacks.Enqueue(callback);
            }
        }

        private sealed class Entry(ICacheEntry inner, DeferringMemoryCache cache) : ICacheEntry
        {
            public object Key => inner.Key;

            public object? Value { get => inner.Value; set => inner.Value = value; }

            public DateTimeOffset? AbsoluteExpiration { get => inner.AbsoluteExpiration; set => inner.AbsoluteExpiration = value; }

            public TimeSpan? AbsoluteExpirationRelativeToNow { get => inner.AbsoluteExpirationRelativeToNow; set => inner.AbsoluteExpirationRelativeToNow = value; }

            public TimeSpan? SlidingExpiration { get => inner.SlidingExpiration; set => inner.SlidingExpiration = value; }

            public IList<IChangeToken> ExpirationTokens => inner.ExpirationTokens;

            public IList<PostEvictionCallbackRegistration> PostEvictionCallbacks { get; } = [];

            public CacheItemPriority Priority { get => inner.Priority; set => inner.Priority = value; }

            public long? Size { get => inner.Size; set => inner.Size = value; }

            public void Dispose()
            {
                foreach (var registration in PostEvictionCallbacks)
                {
                    inner.RegisterPostEvictionCallback((key, value, reason, state) =>
                        cache.Defer(() => registration.EvictionCallback!(key, value, reason, state)), registration.State);
                }

                inner.Dispose();
            }
        }
    }
}
