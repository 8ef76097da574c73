using Microsoft.Extensions.Time.Testing;
using Router.Core.Caching;
using Router.Testing;

namespace Router.Core.Tests.Caching;

/// <summary>The sweep of expired entries that writes start (from a review of 53c82ca). Runs alone: one test races two
/// threads over 50,000 entries.</summary>
[Collection(nameof(HeapMeasuringCollection))]
public sealed class VectorIndexSweepReviewTests
{
    private const int Dims = 384;
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2025-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The sweep lists a scope's expired entries under the read lock and removes them one by one afterwards;
    /// <c>RemoveEntry</c> checks only that the id still maps to the same <c>Entry</c> object, and a re-upsert of the id
    /// reuses that object with a new expiry. An answer stored again while the sweep works through its scope is
    /// dropped although it has the whole time to live ahead of it.</summary>
    [Fact]
    public async Task An_entry_stored_again_while_the_sweep_runs_is_kept()
    {
        var time = new FakeTimeProvider(Start);
        using var index = new VectorIndex<int>(new VectorIndexOptions { TimeToLive = TimeSpan.FromMinutes(10), MaxEntries = 1_000_000 }, time);
        var data = new ClusteredVectors(Dims, 8, seed: 21);
        var scope = new CacheScope("tenant-a", "busy");
        const int n = 50_000;
        var vectors = Enumerable.Range(0, n).Select(_ => data.Next()).ToArray();
        for (var i = 0; i < n; i++)
        {
            index.Upsert(scope, $"e{i}", CacheKey.Compute(scope, $"p{i}"), vectors[i], i);
        }

        // All have expired; the next write anywhere starts a sweep of them (the scope's entries in the order they were added).
        Action? sweep = null;
        index.ScheduleSweep = due => sweep = () => due.RemoveExpired();
        time.Advance(TimeSpan.FromMinutes(11));
        var other = new CacheScope("tenant-b", "other");
        index.Upsert(other, "x", CacheKey.Compute(other, "x"), data.Next(), -1);
        var writer = Task.Run(Assert.IsType<Action>(sweep));

        // Once the sweep has started removing, the last answer of the scope is stored again: it is fresh now.
        var spin = new SpinWait();
        while (index.Count >= n && !writer.IsCompleted)
        {
            spin.SpinOnce();
        }

        var last = n - 1;
        index.Upsert(scope, $"e{last}", CacheKey.Compute(scope, $"p{last}"), vectors[last], last);
        await writer;

        Assert.Equal(last, index.FindNearest(scope, vectors[last], 0.999f)?.Value);
        Assert.True(index.TryGetExact(scope, CacheKey.Compute(scope, $"p{last}"), out _));
        Assert.Equal(2, index.Count);
    }

    /// <summary>A write that finds the sweep due leaves it to the thread pool: at the default capacity (100,000 entries,
    /// one per scope as conversations' turns are) the scan took the request storing its answer 90-290 ms when it ran in
    /// the write.</summary>
    [Fact]
    public void A_write_that_finds_the_sweep_due_does_not_run_it()
    {
        var time = new FakeTimeProvider(Start);
        using var index = new VectorIndex<int>(new VectorIndexOptions { TimeToLive = TimeSpan.FromHours(8), MaxEntries = 200_000 }, time);
        var scheduled = new List<VectorIndex<int>>();
        index.ScheduleSweep = scheduled.Add;
        var data = new ClusteredVectors(Dims, 20, seed: 8);
        var vectors = Enumerable.Range(0, 64).Select(_ => data.Next()).ToArray();
        for (var i = 0; i < 1_000; i++)
        {
            var scope = new CacheScope("tenant", $"ctx-{i}");
            index.Upsert(scope, "answer", CacheKey.Compute(scope, $"p{i}"), vectors[i % 64], i);
        }

        Assert.Empty(scheduled);
        time.Advance(TimeSpan.FromHours(9));   // every entry has expired, and a sweep is due
        var one = new CacheScope("tenant", "timed");
        index.Upsert(one, "answer", CacheKey.Compute(one, "p"), vectors[0], 0);

        Assert.Equal(1_001, index.Count);      // the write returned without sweeping
        Assert.Same(index, Assert.Single(scheduled));
        index.Upsert(one, "answer", CacheKey.Compute(one, "p"), vectors[0], 0);
        Assert.Single(scheduled);              // one sweep an interval, however many writes find it due
        scheduled[0].RemoveExpired();
        Assert.Equal(1, index.Count);
    }

    [Fact]
    public void The_default_schedule_sweeps_on_the_thread_pool()
    {
        var time = new FakeTimeProvider(Start);
        using var index = new VectorIndex<int>(new VectorIndexOptions { TimeToLive = TimeSpan.FromMinutes(8) }, time);
        var data = new ClusteredVectors(Dims, 2, seed: 9);
        var old = new CacheScope("tenant", "old");
        index.Upsert(old, "answer", CacheKey.Compute(old, "p"), data.Next(), 0);
        time.Advance(TimeSpan.FromMinutes(9));
        var fresh = new CacheScope("tenant", "fresh");
        index.Upsert(fresh, "answer", CacheKey.Compute(fresh, "p"), data.Next(), 1);

        Assert.True(SpinWait.SpinUntil(() => index.Count == 1, TimeSpan.FromSeconds(10)));
    }

    /// <summary>Upsert now computes the expiry as <c>now + ttl.Ticks</c> without a bound: a time to live of
    /// <see cref="TimeSpan.MaxValue"/> ("never", no validation forbids it) wraps to a negative expiry, so every entry is
    /// stored already expired: never served, counted against MaxEntries until swept.</summary>
    [Fact]
    public void A_time_to_live_of_TimeSpan_MaxValue_does_not_expire_entries_as_they_are_stored()
    {
        var time = new FakeTimeProvider(Start);
        using var index = new VectorIndex<int>(new VectorIndexOptions { TimeToLive = TimeSpan.MaxValue }, time);
        var data = new ClusteredVectors(Dims, 2, seed: 8);
        var scope = new CacheScope("tenant-a", "ctx");
        var v = data.Next();

        index.Upsert(scope, "answer", CacheKey.Compute(scope, "p"), v, 1);
        time.Advance(TimeSpan.FromDays(1));

        Assert.Equal(1, index.FindNearest(scope, v, 0.99f)?.Value);
        Assert.True(index.TryGetExact(scope, CacheKey.Compute(scope, "p"), out _));
    }
}
