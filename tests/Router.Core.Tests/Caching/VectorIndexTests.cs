using System.Numerics.Tensors;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Caching;
using Router.Testing;

namespace Router.Core.Tests.Caching;

public sealed class VectorIndexTests
{
    private const int Dims = 384;
    private static readonly CacheScope TenantA = new("tenant-a", "gpt-4o|sys:v1");
    private static readonly CacheScope TenantB = new("tenant-b", "gpt-4o|sys:v1");

    [Fact]
    public void Returns_the_exact_nearest_on_a_small_set()
    {
        using var index = new VectorIndex<int>(new VectorIndexOptions());
        var data = new ClusteredVectors(Dims, clusters: 10, seed: 1);
        var stored = Enumerable.Range(0, 1000).Select(_ => data.Next()).ToArray();
        for (var i = 0; i < stored.Length; i++)
        {
            index.Upsert(TenantA, $"e{i}", CacheKey.Compute(TenantA, $"p{i}"), stored[i], i);
        }

        for (var q = 0; q < 200; q++)
        {
            var query = data.Next();
            var expected = Enumerable.Range(0, stored.Length).MaxBy(i => TensorPrimitives.Dot(query, stored[i]));

            var hit = index.FindNearest(TenantA, query, minSimilarity: -1f);

            Assert.NotNull(hit);
            Assert.Equal(expected, hit.Value.Value);
            Assert.Equal(TensorPrimitives.Dot(query, stored[expected]), hit.Value.Similarity, 4);
        }
    }

    [Fact]
    public void Finds_the_paraphrase_in_a_large_scope_through_the_prefilter()
    {
        using var index = new VectorIndex<int>(new VectorIndexOptions { MaxEntries = 50_000 });
        var data = new ClusteredVectors(Dims, clusters: 50, seed: 2);
        var stored = Enumerable.Range(0, 30_000).Select(_ => data.Next()).ToArray();
        for (var i = 0; i < stored.Length; i++)
        {
            index.Upsert(TenantA, $"e{i}", CacheKey.Compute(TenantA, $"p{i}"), stored[i], i);
        }

        var found = 0;
        for (var q = 0; q < 200; q++)
        {
            var target = (q * 149) % stored.Length;
            var hit = index.FindNearest(TenantA, data.Near(stored[target], 0.9f), minSimilarity: 0.8f);
            found += hit?.Value == target ? 1 : 0;
        }

        Assert.True(found >= 198, $"found {found} of 200 paraphrases");
        var cells = index.CellSizes(TenantA);
        Assert.True(cells.Length > 10, "a large scope is split into cells");
        Assert.All(cells, size => Assert.InRange(size, 1, new VectorIndexOptions().MaxCellSize));
        Assert.Equal(stored.Length, cells.Sum());
    }

    [Fact]
    public void Results_are_best_first_and_respect_the_threshold()
    {
        using var index = new VectorIndex<int>(new VectorIndexOptions());
        var data = new ClusteredVectors(Dims, clusters: 3, seed: 3);
        for (var i = 0; i < 300; i++)
        {
            index.Upsert(TenantA, $"e{i}", CacheKey.Compute(TenantA, $"p{i}"), data.Next(), i);
        }

        var results = new VectorMatch<int>[10];
        var n = index.Search(TenantA, data.Next(), minSimilarity: 0.3f, results);

        Assert.InRange(n, 1, 10);
        for (var k = 0; k < n; k++)
        {
            Assert.True(results[k].Similarity >= 0.3f);
            Assert.True(k == 0 || results[k - 1].Similarity >= results[k].Similarity);
        }
    }

    [Fact]
    public void Two_tenants_sending_the_same_prompts_never_see_each_other()
    {
        using var index = new VectorIndex<string>(new VectorIndexOptions());
        var data = new ClusteredVectors(Dims, clusters: 20, seed: 4);
        var prompts = Enumerable.Range(0, 500).Select(_ => data.Next()).ToArray();
        for (var i = 0; i < prompts.Length; i++)
        {
            foreach (var scope in new[] { TenantA, TenantB })
            {
                index.Upsert(scope, $"p{i}", CacheKey.Compute(scope, $"prompt {i}"), prompts[i], scope.Tenant);
            }
        }

        var random = new Random(5);
        var crossHits = 0;
        var hits = 0;
        var results = new VectorMatch<string>[5];
        for (var probe = 0; probe < 10_000; probe++)
        {
            var scope = random.Next(2) == 0 ? TenantA : TenantB;
            var i = random.Next(prompts.Length);
            var n = index.Search(scope, data.Near(prompts[i], 0.95f), minSimilarity: 0.5f, results);
            hits += n;
            crossHits += results.AsSpan(0, n).ToArray().Count(r => r.Value != scope.Tenant);
            if (index.TryGetExact(scope, CacheKey.Compute(scope, $"prompt {i}"), out var exact))
            {
                hits++;
                crossHits += exact.Value != scope.Tenant ? 1 : 0;
            }

            // The other tenant's key for the very same prompt must not open this scope.
            var other = scope == TenantA ? TenantB : TenantA;
            crossHits += index.TryGetExact(scope, CacheKey.Compute(other, $"prompt {i}"), out _) ? 1 : 0;
        }

        Assert.True(hits > 10_000);
        Assert.Equal(0, crossHits);
    }

    [Fact]
    public void Same_tenant_in_another_context_is_another_scope()
    {
        using var index = new VectorIndex<int>(new VectorIndexOptions());
        var v = new ClusteredVectors(Dims, 1, seed: 6).Next();
        index.Upsert(TenantA, "x", CacheKey.Compute(TenantA, "p"), v, 1);

        Assert.Null(index.FindNearest(TenantA with { ContextFingerprint = "gpt-4o|sys:v2" }, v, 0f));
        Assert.NotNull(index.FindNearest(TenantA, v, 0f));
    }

    [Fact]
    public void Exact_key_finds_the_entry_and_follows_replacement_and_removal()
    {
        using var index = new VectorIndex<string>(new VectorIndexOptions());
        var data = new ClusteredVectors(Dims, 2, seed: 7);
        var key = CacheKey.Compute(TenantA, "what is 2+2");
        index.Upsert(TenantA, "a1", key, data.Next(), "four");

        Assert.True(index.TryGetExact(TenantA, key, out var first));
        Assert.Equal("four", first.Value);

        index.Upsert(TenantA, "a1", key, data.Next(), "4");
        Assert.True(index.TryGetExact(TenantA, key, out var replaced));
        Assert.Equal("4", replaced.Value);
        Assert.Equal(1, index.Count);

        Assert.True(index.Remove(TenantA, "a1"));
        Assert.False(index.TryGetExact(TenantA, key, out _));
        Assert.Equal(0, index.Count);
    }

    [Fact]
    public void Least_recently_used_entry_is_evicted_first()
    {
        using var index = new VectorIndex<string>(new VectorIndexOptions { MaxEntries = 3 });
        var data = new ClusteredVectors(Dims, 4, seed: 9);
        var a = data.Next();
        index.Upsert(TenantA, "a", CacheKey.Compute(TenantA, "a"), a, "a");
        index.Upsert(TenantA, "b", CacheKey.Compute(TenantA, "b"), data.Next(), "b");
        index.Upsert(TenantA, "c", CacheKey.Compute(TenantA, "c"), data.Next(), "c");

        Assert.Equal("a", index.FindNearest(TenantA, a, 0.99f)?.Value);
        index.Upsert(TenantA, "d", CacheKey.Compute(TenantA, "d"), data.Next(), "d");

        Assert.Equal(3, index.Count);
        Assert.True(index.TryGetExact(TenantA, CacheKey.Compute(TenantA, "a"), out _));
        Assert.False(index.TryGetExact(TenantA, CacheKey.Compute(TenantA, "b"), out _));
    }

    [Fact]
    public void Expired_entries_are_not_served_and_are_swept()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2025-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var index = new VectorIndex<int>(new VectorIndexOptions { TimeToLive = TimeSpan.FromMinutes(10) }, time);
        var data = new ClusteredVectors(Dims, 2, seed: 10);
        var v = data.Next();
        var key = CacheKey.Compute(TenantA, "p");
        index.Upsert(TenantA, "x", key, v, 1);
        index.Upsert(TenantA, "y", CacheKey.Compute(TenantA, "q"), data.Next(), 2);

        time.Advance(TimeSpan.FromMinutes(9));
        Assert.NotNull(index.FindNearest(TenantA, v, 0.99f));

        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(index.FindNearest(TenantA, v, 0.99f));
        Assert.False(index.TryGetExact(TenantA, key, out _));
        Assert.Equal(1, index.RemoveExpired());
        Assert.Equal(0, index.Count);
    }

    [Fact]
    public void Expired_entries_are_dropped_by_later_writes_without_anyone_calling_RemoveExpired()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2025-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var index = new VectorIndex<int>(new VectorIndexOptions { TimeToLive = TimeSpan.FromMinutes(10) }, time);
        index.ScheduleSweep = due => due.RemoveExpired();   // the sweep a write starts, run at once rather than on the thread pool
        var data = new ClusteredVectors(Dims, 4, seed: 11);
        var turns = Enumerable.Range(0, 100).Select(i => new CacheScope("tenant-a", $"turn-{i}")).ToArray();
        foreach (var scope in turns)
        {
            index.Upsert(scope, "answer", CacheKey.Compute(scope, "p"), data.Next(), 0);
        }

        var bytesWhenFull = index.EstimatedBytes;
        var late = new CacheScope("tenant-a", "late");
        var lateVector = data.Next();
        time.Advance(TimeSpan.FromMinutes(9));
        index.Upsert(late, "answer", CacheKey.Compute(late, "p"), lateVector, 1);
        Assert.Equal(101, index.Count);

        // The first hundred have expired; nobody searches their scopes again, the next write lets them go.
        time.Advance(TimeSpan.FromMinutes(2));
        var next = new CacheScope("tenant-a", "next");
        index.Upsert(next, "answer", CacheKey.Compute(next, "p"), data.Next(), 2);

        Assert.Equal(2, index.Count);
        Assert.True(index.EstimatedBytes < bytesWhenFull / 10, $"{index.EstimatedBytes} bytes left of {bytesWhenFull}");
        Assert.All(turns, scope => Assert.Empty(index.CellSizes(scope)));
        Assert.Equal(1, index.FindNearest(late, lateVector, 0.99f)?.Value);
    }

    [Fact]
    public async Task Concurrent_writers_and_readers_keep_the_index_consistent()
    {
        using var index = new VectorIndex<int>(new VectorIndexOptions { MaxEntries = 5_000 });
        var scopes = new[] { TenantA, TenantB };
        var errors = 0;

        var tasks = Enumerable.Range(0, 4).Select(worker => Task.Run(() =>
        {
            var data = new ClusteredVectors(Dims, 10, seed: 100 + worker);
            var results = new VectorMatch<int>[3];
            for (var i = 0; i < 3_000; i++)
            {
                var scope = scopes[i % 2];
                var v = data.Next();
                if (worker % 2 == 0)
                {
                    index.Upsert(scope, $"w{worker}-{i}", CacheKey.Compute(scope, $"w{worker}-{i}"), v, worker);
                    if (i % 7 == 0)
                    {
                        index.Remove(scope, $"w{worker}-{i / 2}");
                    }
                }
                else
                {
                    var n = index.Search(scope, v, 0f, results);
                    if (n > 0 && results[0].Similarity is < -1.001f or > 1.001f)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
            }
        }));
        await Task.WhenAll(tasks);

        Assert.Equal(0, errors);
        Assert.InRange(index.Count, 1, 5_000);
    }

    [Fact]
    public void Registers_through_dependency_injection()
    {
        var services = new ServiceCollection().AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        using var provider = services.AddLogging().AddRouterCore().BuildServiceProvider(validateScopes: true);

        Assert.NotNull(provider.GetRequiredService<ISemanticGuard>());
        Assert.NotNull(provider.GetRequiredService<IVectorIndex<string>>());
    }
}

/// <summary>Tests that read the process's heap size run alone: a test loading a model in parallel would be counted too.</summary>
[CollectionDefinition(nameof(HeapMeasuringCollection), DisableParallelization = true)]
public sealed class HeapMeasuringCollection;

[Collection(nameof(HeapMeasuringCollection))]
public sealed class VectorIndexMemoryTests
{
    [Fact]
    public void Eviction_keeps_entries_and_memory_bounded()
    {
        const int max = 2_000;
        using var index = new VectorIndex<int>(new VectorIndexOptions { MaxEntries = max });
        var data = new ClusteredVectors(384, 20, seed: 8);
        var scopes = Enumerable.Range(0, 20).Select(t => new CacheScope($"tenant-{t}", "ctx")).ToArray();

        for (var i = 0; i < max; i++)
        {
            var scope = scopes[i % scopes.Length];
            index.Upsert(scope, $"e{i}", CacheKey.Compute(scope, $"p{i}"), data.Next(), i);
        }

        var bytesAtCapacity = index.EstimatedBytes;
        GC.Collect();
        var heapAtCapacity = GC.GetTotalMemory(forceFullCollection: true);

        for (var i = max; i < 20 * max; i++)
        {
            var scope = scopes[i % scopes.Length];
            index.Upsert(scope, $"e{i}", CacheKey.Compute(scope, $"p{i}"), data.Next(), i);
        }

        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);

        Assert.Equal(max, index.Count);
        Assert.True(index.EstimatedBytes <= 2 * bytesAtCapacity, $"{index.EstimatedBytes} > 2 x {bytesAtCapacity}");

        // 20x the capacity went in; the heap may not grow with it (18x more entries would be ~60 MB).
        Assert.True(heapAfter - heapAtCapacity < 8_000_000, $"heap grew by {heapAfter - heapAtCapacity} bytes");
    }
}
