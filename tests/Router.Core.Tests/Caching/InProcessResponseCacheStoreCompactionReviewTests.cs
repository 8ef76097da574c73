using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Caching;

namespace Router.Core.Tests.Caching;

/// <summary>From the review of the compaction a store does at a full byte budget: how much it evicts when stores run
/// together, whether the answer it makes room for is kept when recent answers are large, and what an answer that
/// expired before it arrived costs the others.</summary>
public sealed class InProcessResponseCacheStoreCompactionReviewTests
{
    private const string EmbeddingModel = "all-MiniLM-L6-v2";
    private const long Budget = 1L << 20;

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task Stores_that_find_the_budget_full_together_evict_about_what_they_need_not_a_share_each()
    {
        // No background overcapacity compaction, so only the store's own compactions evict.
        using var answers = new HookedMemoryCache(new MemoryCacheOptions { SizeLimit = Budget, CompactionPercentage = 0, Clock = new TimeProviderClock(_time) });
        using var index = new VectorIndex<CachedAnswer>(new VectorIndexOptions(), _time);
        var store = new InProcessResponseCacheStore(index, answers, Budget, _time);
        var filled = await Fill(store, answers, chars: 5_000);
        Assert.True(filled >= 90, $"{filled} answers fill the budget");

        // Twelve requests store their answers at once: each Set finds the budget full before any of them has compacted
        // (run here nested on one thread: each store's check of its Set runs the next store).
        var pending = new Queue<CachedAnswer>(Enumerable.Range(0, 12).Select(i => Answer($"new-{i}", Prompt(i, 5_000))));
        void Next()
        {
            if (pending.TryDequeue(out var answer))
            {
                answers.OnNextMiss = Next;
                store.StoreAsync(answer, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            }
        }

        answers.OnNextMiss = Next;
        await store.StoreAsync(Answer("new-first", Prompt(99, 5_000)), CancellationToken.None);

        // One after the other these 13 stores evict 15 answers (three compactions of 5 %); together each compacts its own
        // 5 % of what is left, and about half the cache goes.
        var evicted = filled + 13 - answers.Count;
        Assert.True(evicted <= filled / 5, $"{evicted} of {filled} cached answers evicted to make room for 13 of the same size");
    }

    [Fact]
    public async Task An_answer_half_the_budget_is_kept_when_the_most_recently_used_answer_is_large()
    {
        using var answers = new MemoryCache(new MemoryCacheOptions { SizeLimit = Budget, CompactionPercentage = 0, Clock = new TimeProviderClock(_time) });
        using var index = new VectorIndex<CachedAnswer>(new VectorIndexOptions(), _time);
        var store = new InProcessResponseCacheStore(index, answers, Budget, _time);

        // Many small answers read long ago, then one of ~600 KB read just now, together filling the budget.
        var large = Answer("large", Prompt(1, 300_000));
        var room = Budget - InProcessResponseCacheStore.SizeOf(large);
        var small = 0;
        for (long used = 0; (used += InProcessResponseCacheStore.SizeOf(Answer($"small-{small:D4}", Prompt(small, 200)))) <= room; small++)
        {
            await store.StoreAsync(Answer($"small-{small:D4}", Prompt(small, 200)), CancellationToken.None);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        await store.StoreAsync(large, CancellationToken.None);
        Assert.Equal(small + 1, answers.Count);

        // ~450 KB, less than half the budget: the README promises it is kept (only one larger than the budget is not),
        // the least recently used going first. Compacting by count (45 % of the answers, three times) frees ~360 KB of
        // small answers, not enough, and the answer is given up after evicting most of them.
        var newest = Answer("newest", Prompt(2, 225_000));
        await store.StoreAsync(newest, CancellationToken.None);

        Assert.NotNull(await store.GetExactAsync("tenant", "scope", EmbeddingModel, "newest", CancellationToken.None));
    }

    [Fact]
    public async Task An_answer_that_expired_before_it_was_stored_evicts_no_other_answer()
    {
        using var answers = new MemoryCache(new MemoryCacheOptions { SizeLimit = Budget, CompactionPercentage = 0, Clock = new TimeProviderClock(_time) });
        using var index = new VectorIndex<CachedAnswer>(new VectorIndexOptions(), _time);
        var store = new InProcessResponseCacheStore(index, answers, Budget, _time);
        for (var i = 0; i < 40; i++)
        {
            await store.StoreAsync(Answer($"id-{i}", Prompt(i, 200)), CancellationToken.None);
        }

        // Created two seconds ago with a one-second lifetime (a short tenant TTL and a slow store): the cache turns it
        // away as expired, which no room would change, yet the store compacts three times looking for room.
        var late = Answer("late", Prompt(99, 200)) with { CreatedAt = _time.GetUtcNow().AddSeconds(-2), ExpiresAt = _time.GetUtcNow().AddSeconds(-1) };
        await store.StoreAsync(late, CancellationToken.None);

        Assert.Null(await store.GetExactAsync("tenant", "scope", EmbeddingModel, "late", CancellationToken.None));
        Assert.Equal(40, answers.Count);
    }

    [Fact]
    public async Task Replacing_an_answer_with_one_larger_than_the_whole_budget_leaves_the_old_one_cached()
    {
        using var answers = new MemoryCache(new MemoryCacheOptions { SizeLimit = Budget, Clock = new TimeProviderClock(_time) });
        using var index = new VectorIndex<CachedAnswer>(new VectorIndexOptions(), _time);
        var store = new InProcessResponseCacheStore(index, answers, Budget, _time);
        await store.StoreAsync(Answer("id-1", Prompt(1, 200)), CancellationToken.None);

        // The same prompt answered again at ~1.2 MB: the store knows it can never fit (it is turned away "without a
        // compaction"), but it is offered to the cache first, which drops the answer it would replace (and, at a full
        // budget, schedules its own overcapacity compaction of the others).
        await store.StoreAsync(Answer("id-1", Prompt(1, 200)) with { Content = new string('y', 600_000) }, CancellationToken.None);

        Assert.Equal("answer", (await store.GetExactAsync("tenant", "scope", EmbeddingModel, "id-1", CancellationToken.None))?.Content);
    }

    // Stores answers of one size until the next would not fit; returns how many.
    private async Task<int> Fill(InProcessResponseCacheStore store, MemoryCache answers, int chars)
    {
        var count = 0;
        for (long used = 0; (used += InProcessResponseCacheStore.SizeOf(Answer($"fill-{count:D4}", Prompt(count, chars)))) <= Budget; count++)
        {
            await store.StoreAsync(Answer($"fill-{count:D4}", Prompt(count, chars)), CancellationToken.None);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(count, answers.Count);
        return count;
    }

    private static string Prompt(int i, int chars) => (i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture) + new string('p', chars))[..chars];

    private static float[] Unit(string id)
    {
        var v = new float[384];
        v[(int)((uint)StringComparer.Ordinal.GetHashCode(id) % 384)] = 1f;
        v[(id.Length * 7) % 384] += 0.5f;
        return v;
    }

    private CachedAnswer Answer(string id, string prompt) => new()
    {
        Id = id,
        TenantId = "tenant",
        Scope = "scope",
        Prompt = prompt,
        Embedding = Unit(id),
        EmbeddingModel = EmbeddingModel,
        Content = "answer",
        Model = "gpt-4o-mini",
        CreatedAt = _time.GetUtcNow(),
        ExpiresAt = _time.GetUtcNow() + TimeSpan.FromDays(1),
    };

    /// <summary>A <see cref="MemoryCache"/> (so the store compacts it) that runs an action once, at the next lookup that
    /// misses, before answering it.</summary>
    private sealed class HookedMemoryCache(MemoryCacheOptions options) : MemoryCache(options), IMemoryCache
    {
        public Action? OnNextMiss { get; set; }

        bool IMemoryCache.TryGetValue(object key, out object? value)
        {
            if (TryGetValue(key, out value))
            {
                return true;
            }

            var action = OnNextMiss;
            OnNextMiss = null;
            action?.Invoke();
            value = null;
            return false;
        }
    }
}
