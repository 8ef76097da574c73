using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Router.Core.Caching;
using Router.Testing;

namespace Router.Core.Tests.Caching;

[Collection(nameof(HeapMeasuringCollection))]
public sealed class InProcessResponseCacheStoreTests
{
    private const string EmbeddingModel = "all-MiniLM-L6-v2";
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    [Fact]
    public async Task Large_prompts_are_held_within_the_byte_budget_and_the_newest_answer_is_still_served()
    {
        const long budget = 4L * 1024 * 1024;
        const int max = 100;
        using var index = new VectorIndex<CachedAnswer>(new VectorIndexOptions { MaxEntries = max });
        using var exact = new MemoryCache(new MemoryCacheOptions { SizeLimit = budget });
        var store = new InProcessResponseCacheStore(index, exact, budget, TimeProvider.System);
        var vectors = new ClusteredVectors(384, clusters: 10, seed: 3);
        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);

        for (var i = 0; i < 4 * max; i++)
        {
            // A long document to summarise: 200 KB as a string, ~216 KB with its answer; about 19 fit the budget.
            await store.StoreAsync(Answer($"id-{i}", new string((char)('a' + (i % 26)), 100_000) + i, vectors.Next()), CancellationToken.None);
        }

        // Room for the newest answer whatever the background compaction has done by now.
        exact.Compact(0.5);

        // An evicted answer is let go once its eviction callback (which gives back its tenant's charge) has run on the
        // thread pool: wait for those still queued, as a server's pool runs them between requests.
        for (var i = 0; i < 1_000 && store.ChargedAnswers != exact.Count; i++)
        {
            await Task.Delay(10);
        }

        var embedding = vectors.Next();
        await store.StoreAsync(Answer("newest", "summarise this", embedding), CancellationToken.None);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(store);

        var allowed = budget + (budget / 4) + (2L * max * index.BytesPerEntry);
        Assert.True(after - before < allowed, $"{exact.Count} cached answers hold {after - before:N0} bytes (allowed {allowed:N0})");
        Assert.Equal("answer to summarise this", (await store.GetExactAsync("tenant", "scope", EmbeddingModel, "newest", CancellationToken.None))?.Content);
        var candidates = await store.SearchAsync("tenant", "scope", EmbeddingModel, embedding, 0.99f, 4, CancellationToken.None);
        Assert.Equal("answer to summarise this", Assert.Single(candidates).Answer.Content);
    }

    [Fact]
    public async Task A_tenant_past_its_share_of_a_full_cache_makes_room_from_its_own_answers_and_one_alone_uses_the_whole_budget()
    {
        const long budget = 1L << 20;
        using var index = new VectorIndex<CachedAnswer>(new VectorIndexOptions());
        using var exact = new MemoryCache(new MemoryCacheOptions { SizeLimit = budget });
        var store = new InProcessResponseCacheStore(index, exact, budget, TimeProvider.System, tenantShare: 0.5);
        var vectors = new ClusteredVectors(384, clusters: 4, seed: 11);
        await store.StoreAsync(Answer("victim-1", "what is the boiling point of water?", vectors.Next(), tenant: "victim"), CancellationToken.None);

        // About 100 KB each: twenty are twice the budget.
        for (var i = 0; i < 20; i++)
        {
            await store.StoreAsync(Answer($"flood-{i}", new string((char)('a' + i), 50_000), vectors.Next(), tenant: "flooder"), CancellationToken.None);
        }

        Assert.NotNull(await store.GetExactAsync("victim", "scope", EmbeddingModel, "victim-1", CancellationToken.None));
        Assert.NotNull(await store.GetExactAsync("flooder", "scope", EmbeddingModel, "flood-19", CancellationToken.None));
        Assert.Null(await store.GetExactAsync("flooder", "scope", EmbeddingModel, "flood-0", CancellationToken.None));

        // A tenant alone keeps filling the whole budget: about nine of its answers at once, not half as many.
        using var alone = new MemoryCache(new MemoryCacheOptions { SizeLimit = budget });
        var single = new InProcessResponseCacheStore(new VectorIndex<CachedAnswer>(new VectorIndexOptions()), alone, budget, TimeProvider.System, tenantShare: 0.5);
        for (var i = 0; i < 20; i++)
        {
            await single.StoreAsync(Answer($"doc-{i}", new string((char)('a' + i), 50_000), vectors.Next()), CancellationToken.None);
        }

        var kept = 0;
        for (var i = 0; i < 20; i++)
        {
            kept += await single.GetExactAsync("tenant", "scope", EmbeddingModel, $"doc-{i}", CancellationToken.None) is null ? 0 : 1;
        }

        Assert.True(kept >= 8, $"a tenant alone kept {kept} answers of about 100 KB in a 1 MB budget");
        Assert.NotNull(await single.GetExactAsync("tenant", "scope", EmbeddingModel, "doc-19", CancellationToken.None));
    }

    [Fact]
    public async Task An_answer_the_exact_cache_let_go_is_no_longer_a_semantic_candidate_nor_kept_in_the_index()
    {
        using var index = new VectorIndex<CachedAnswer>(new VectorIndexOptions());
        using var exact = new MemoryCache(new MemoryCacheOptions { SizeLimit = 1L << 20 });
        var store = new InProcessResponseCacheStore(index, exact, 1L << 20, TimeProvider.System);
        var embedding = new ClusteredVectors(384, clusters: 1, seed: 5).Next();
        await store.StoreAsync(Answer("id-1", "what is the capital of France?", embedding), CancellationToken.None);
        Assert.Single(await store.SearchAsync("tenant", "scope", EmbeddingModel, embedding, 0.9f, 4, CancellationToken.None));

        exact.Compact(1.0);

        Assert.Empty(await store.SearchAsync("tenant", "scope", EmbeddingModel, embedding, 0.9f, 4, CancellationToken.None));
        Assert.Equal(0, index.Count);
    }

    [Fact]
    public async Task An_answer_larger_than_the_whole_budget_is_neither_cached_nor_indexed()
    {
        using var index = new VectorIndex<CachedAnswer>(new VectorIndexOptions());
        using var exact = new MemoryCache(new MemoryCacheOptions { SizeLimit = 1L << 20 });
        var store = new InProcessResponseCacheStore(index, exact, 1L << 20, TimeProvider.System);
        var embedding = new ClusteredVectors(384, clusters: 1, seed: 5).Next();

        await store.StoreAsync(Answer("id-1", new string('p', 600_000), embedding), CancellationToken.None);

        Assert.Null(await store.GetExactAsync("tenant", "scope", EmbeddingModel, "id-1", CancellationToken.None));
        Assert.Equal(0, index.Count);
    }

    [Fact]
    public void The_byte_budget_is_bound_from_configuration_and_a_tiny_one_fails_validation_naming_it()
    {
        Assert.Equal(256L * 1024 * 1024, Options("268435456").MaxAnswerBytes);
        var error = Assert.Throws<OptionsValidationException>(() => Options("1000"));
        Assert.Contains("MaxAnswerBytes", error.Message, StringComparison.Ordinal);

        static VectorIndexOptions Options(string maxAnswerBytes)
        {
            var configuration = new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Router:Cache:Index:MaxAnswerBytes"] = maxAnswerBytes })
                .Build();
            using var provider = new ServiceCollection()
                .AddSingleton<IConfiguration>(configuration)
                .AddLogging().AddRouterCore()
                .BuildServiceProvider();
            return provider.GetRequiredService<IOptions<VectorIndexOptions>>().Value;
        }
    }

    private static CachedAnswer Answer(string id, string prompt, float[] embedding, string tenant = "tenant") => new()
    {
        Id = id,
        TenantId = tenant,
        Scope = "scope",
        Prompt = prompt,
        Embedding = embedding,
        EmbeddingModel = EmbeddingModel,
        Content = prompt.Length > 100 ? new string('x', 8_000) : "answer to " + prompt,
        Model = "gpt-4o-mini",
        CreatedAt = Now,
        ExpiresAt = Now.AddDays(1),
    };
}
