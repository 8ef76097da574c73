using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using Router.Core.Caching;

namespace Router.Benchmarks;

/// <summary>Per-lookup latency, recall@1 against brute force and memory per entry of the in-process vector index.</summary>
internal static class LatencyHarness
{
    public static void Run(int[] sizes)
    {
        var o = IndexFixture.Options(0);
        Console.WriteLine($"cores: {Environment.ProcessorCount}, load average at start: {LoadAverage()}; probed cells {o.ProbedCells}, rerank {o.RerankCandidates}, max cell {o.MaxCellSize}");
        Console.WriteLine("| entries | build s | heap B/entry | est. B/entry | search p50 µs | p99 µs | max µs | fresh p50 µs | fresh p99 µs | recall@1 paraphrase | recall@1 fresh | exact p50 µs | exact p99 µs | hash+exact p99 µs | brute-force scan µs |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        List<string> cpuRows = [];
        foreach (var size in sizes)
        {
            var f = IndexFixture.For(size);
            var results = new VectorMatch<int>[1];

            // Warm up JIT tiers and caches.
            for (var k = 0; k < 300; k++)
            {
                f.Index.Search(IndexFixture.Scope, f.FreshQueries[k & 1023], 0.5f, results);
            }

            var (paraphrase, paraphraseCpu) = TimeBoth(1024, q => f.Index.Search(IndexFixture.Scope, f.ParaphraseQueries[q], 0.5f, results));
            cpuRows.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {size:N0} | {paraphraseCpu.P50:F0} | {paraphraseCpu.P99:F0} | {paraphraseCpu.Max:F0} |"));
            var fresh = Time(1024, q => f.Index.Search(IndexFixture.Scope, f.FreshQueries[q], 0.5f, results));
            var exact = Time(20_000, q => f.Index.TryGetExact(IndexFixture.Scope, f.Keys[(q * 7919) % size], out _));
            var hashed = Time(20_000, q => f.Index.TryGetExact(IndexFixture.Scope, CacheKey.Compute(IndexFixture.Scope, "prompt " + ((q * 7919) % size)), out _));

            var probes = size >= 1_000_000 ? 200 : 1000;
            var recallParaphrase = Recall(f, f.ParaphraseQueries, probes);
            var recallFresh = Recall(f, f.FreshQueries, probes);
            var brute = Time(Math.Max(5, 2_000_000 / size), q => BruteForce(f, f.FreshQueries[q & 1023]));

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {size:N0} | {f.BuildTime.TotalSeconds:F1} | {f.HeapBytesPerEntry:F0} | {(double)f.Index.EstimatedBytes / size:F0} | " +
                $"{paraphrase.P50:F0} | {paraphrase.P99:F0} | {paraphrase.Max:F0} | {fresh.P50:F0} | {fresh.P99:F0} | " +
                $"{recallParaphrase:F4} | {recallFresh:F4} | {exact.P50:F2} | {exact.P99:F2} | {hashed.P99:F2} | {brute.P50:F0} |"));
        }

        Console.WriteLine();
        Console.WriteLine("On-CPU time of the paraphrase searches above (thread CPU clock: excludes time spent waiting for a core):");
        Console.WriteLine("| entries | cpu p50 µs | cpu p99 µs | cpu max µs |");
        Console.WriteLine("|---:|---:|---:|---:|");
        cpuRows.ForEach(Console.WriteLine);
        Console.WriteLine($"load average at end: {LoadAverage()}");
    }

    // Share of queries whose top hit is the exact brute-force nearest neighbour (ties within 1e-6 count as equal).
    private static double Recall(IndexFixture f, float[][] queries, int probes)
    {
        var results = new VectorMatch<int>[1];
        var agree = 0;
        for (var q = 0; q < probes; q++)
        {
            var query = queries[q % queries.Length];
            var (best, bestSim) = BruteForce(f, query);
            var n = f.Index.Search(IndexFixture.Scope, query, -1f, results);
            if (n == 1 && (results[0].Value == best || results[0].Similarity >= bestSim - 1e-6f))
            {
                agree++;
            }
        }

        return (double)agree / probes;
    }

    private static (int Id, float Similarity) BruteForce(IndexFixture f, float[] query)
    {
        var best = -1;
        var bestSim = float.MinValue;
        for (var i = 0; i < f.Vectors.Length; i++)
        {
            var s = TensorPrimitives.Dot(query, f.Vectors[i]);
            if (s > bestSim)
            {
                bestSim = s;
                best = i;
            }
        }

        return (best, bestSim);
    }

    private static (double P50, double P99, double Max) Time<T>(int count, Func<int, T> action) => TimeBoth(count, action).Wall;

    // Wall-clock and on-CPU time of each call. On a shared machine wall time includes waiting for a core; the thread's
    // CPU time (CLOCK_THREAD_CPUTIME_ID) is what the lookup itself costs.
    private static ((double P50, double P99, double Max) Wall, (double P50, double P99, double Max) Cpu) TimeBoth<T>(int count, Func<int, T> action)
    {
        var wall = new double[count];
        var cpu = new double[count];
        for (var q = 0; q < count; q++)
        {
            var cpuStart = ThreadCpu.NowMicros();
            var start = Stopwatch.GetTimestamp();
            action(q & 1023);
            wall[q] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            cpu[q] = ThreadCpu.NowMicros() - cpuStart;
        }

        return (Summary(wall), Summary(cpu));

        static (double, double, double) Summary(double[] values)
        {
            Array.Sort(values);
            return (values[values.Length / 2], values[(int)(values.Length * 0.99)], values[^1]);
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}

internal static partial class ThreadCpu
{
    private const int ClockThreadCpuTimeId = 3;

    public static double NowMicros()
    {
        if (!OperatingSystem.IsLinux() || ClockGetTime(ClockThreadCpuTimeId, out var ts) != 0)
        {
            return 0;
        }

        return (ts.Seconds * 1_000_000.0) + (ts.Nanoseconds / 1_000.0);
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clockId, out Timespec time);

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
