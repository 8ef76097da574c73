using BenchmarkDotNet.Attributes;
using Router.Core.Caching;

namespace Router.Benchmarks;

/// <summary>Lookup cost of the scoped index with every entry in one scope (the worst case for a scan).</summary>
[MemoryDiagnoser]
public class VectorIndexBenchmarks
{
    private readonly VectorMatch<int>[] _results = new VectorMatch<int>[1];
    private IndexFixture _fixture = null!;
    private int _next;

    [Params(10_000, 100_000, 1_000_000)]
    public int Entries { get; set; }

    [GlobalSetup]
    public void Setup() => _fixture = IndexFixture.For(Entries);

    /// <summary>Query near a stored entry (cosine ≈ 0.9): the cache-hit path.</summary>
    [Benchmark]
    public int SearchParaphrase()
    {
        var q = _fixture.ParaphraseQueries[_next++ & 1023];
        return _fixture.Index.Search(IndexFixture.Scope, q, 0.5f, _results);
    }

    /// <summary>Query drawn fresh from the same clusters: usually a miss, the full cost is paid.</summary>
    [Benchmark]
    public int SearchFresh()
    {
        var q = _fixture.FreshQueries[_next++ & 1023];
        return _fixture.Index.Search(IndexFixture.Scope, q, 0.5f, _results);
    }

    /// <summary>Exact-prompt hit with a precomputed key.</summary>
    [Benchmark]
    public bool ExactKeyLookup() =>
        _fixture.Index.TryGetExact(IndexFixture.Scope, _fixture.Keys[_next++ % _fixture.Size], out _);

    /// <summary>Exact-prompt hit including hashing a 200-character prompt with SHA-256.</summary>
    [Benchmark]
    public bool ExactKeyHashAndLookup()
    {
        var key = CacheKey.Compute(IndexFixture.Scope, CachePrompts.Medium);
        return _fixture.Index.TryGetExact(IndexFixture.Scope, key, out _);
    }
}
