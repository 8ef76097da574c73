using System.Collections.Concurrent;
using Router.Core.Caching;
using Router.Testing;

namespace Router.Benchmarks;

/// <summary>One index per size, built once per process and shared by every benchmark case (building 1M takes a while).</summary>
internal sealed class IndexFixture
{
    public const int Dimensions = 384;
    public static readonly CacheScope Scope = new("tenant-bench", "model|system-prompt-v1");
    private static readonly ConcurrentDictionary<int, IndexFixture> Built = new();

    private IndexFixture(int size)
    {
        Size = size;
        Data = new ClusteredVectors(Dimensions, clusters: Math.Max(100, size / 1000), spread: 1.0f, seed: 7);
        Index = new VectorIndex<int>(Options(size));
        Vectors = new float[size][];
        Keys = new CacheKey[size];
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < size; i++)
        {
            var v = Data.Next();
            Vectors[i] = v;
            Keys[i] = CacheKey.Compute(Scope, "prompt " + i);
            Index.Upsert(Scope, "id" + i, Keys[i], v, i);
        }

        BuildTime = watch.Elapsed;

        // Heap growth attributable to the index: the test's own copies of the vectors and keys are subtracted.
        var after = GC.GetTotalMemory(forceFullCollection: true);
        var ownCopies = (long)size * ((Dimensions * 4) + 24 + 8 + 32);
        HeapBytesPerEntry = (double)(after - before - ownCopies) / size;

        var random = new Random(11);
        ParaphraseTargets = new int[1024];
        ParaphraseQueries = new float[1024][];
        FreshQueries = new float[1024][];
        for (var q = 0; q < 1024; q++)
        {
            ParaphraseTargets[q] = random.Next(size);
            ParaphraseQueries[q] = Data.Near(Vectors[ParaphraseTargets[q]], 0.9f);
            FreshQueries[q] = Data.Next();
        }
    }

    public int Size { get; }

    public ClusteredVectors Data { get; }

    public VectorIndex<int> Index { get; }

    public float[][] Vectors { get; }

    public CacheKey[] Keys { get; }

    public TimeSpan BuildTime { get; }

    public double HeapBytesPerEntry { get; }

    public int[] ParaphraseTargets { get; }

    public float[][] ParaphraseQueries { get; }

    public float[][] FreshQueries { get; }

    /// <summary>Defaults, unless ROUTER_BENCH_PROBES / ROUTER_BENCH_RERANK / ROUTER_BENCH_CELL override them for a sweep.</summary>
    public static VectorIndexOptions Options(int size)
    {
        var options = new VectorIndexOptions { MaxEntries = size, TimeToLive = null };
        if (int.TryParse(Environment.GetEnvironmentVariable("ROUTER_BENCH_PROBES"), out var probes))
        {
            options.ProbedCells = probes;
        }

        if (int.TryParse(Environment.GetEnvironmentVariable("ROUTER_BENCH_RERANK"), out var rerank))
        {
            options.RerankCandidates = rerank;
        }

        if (int.TryParse(Environment.GetEnvironmentVariable("ROUTER_BENCH_CELL"), out var cell))
        {
            options.MaxCellSize = cell;
        }

        return options;
    }

    public static IndexFixture For(int size) => Built.GetOrAdd(size, s => new IndexFixture(s));
}
