using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;

namespace Router.Core.Caching;

/// <summary>A nearest-neighbour hit: the entry's id, its cosine to the query and the value stored with it.</summary>
public readonly record struct VectorMatch<TValue>(string Id, float Similarity, TValue Value);

/// <summary>In-process, memory-bounded vector index of cache entries, partitioned by <see cref="CacheScope"/>.</summary>
/// <remarks>A search only ever reads the partition of its own scope, so entries cannot leak across tenants.
/// Thread-safe for concurrent reads and writes.</remarks>
public interface IVectorIndex<TValue>
{
    /// <summary>Entries currently stored, all scopes together.</summary>
    int Count { get; }

    /// <summary>Approximate managed memory held by the index, in bytes.</summary>
    long EstimatedBytes { get; }

    /// <summary>Adds or replaces the entry <paramref name="id"/> of <paramref name="scope"/>; the vector is normalised.</summary>
    void Upsert(CacheScope scope, string id, CacheKey key, ReadOnlySpan<float> vector, TValue value);

    /// <summary>Removes an entry; false if the scope has no such id.</summary>
    bool Remove(CacheScope scope, string id);

    /// <summary>Finds the entry stored under an exact key within the scope (an exact-prompt hit).</summary>
    bool TryGetExact(CacheScope scope, CacheKey key, [MaybeNullWhen(false)] out VectorMatch<TValue> match);

    /// <summary>Writes the scope's nearest entries with cosine ≥ <paramref name="minSimilarity"/> into
    /// <paramref name="results"/>, best first, and returns how many were written.</summary>
    int Search(CacheScope scope, ReadOnlySpan<float> query, float minSimilarity, Span<VectorMatch<TValue>> results);

    /// <summary>Drops every entry whose time to live has passed; returns how many.</summary>
    int RemoveExpired();
}

/// <summary>Convenience overloads for <see cref="IVectorIndex{TValue}"/>.</summary>
public static class VectorIndexExtensions
{
    /// <summary>The scope's single nearest entry with cosine ≥ <paramref name="minSimilarity"/>, or null.</summary>
    public static VectorMatch<TValue>? FindNearest<TValue>(this IVectorIndex<TValue> index, CacheScope scope, ReadOnlySpan<float> query, float minSimilarity)
    {
        ArgumentNullException.ThrowIfNull(index);
        Span<VectorMatch<TValue>> one = new VectorMatch<TValue>[1];
        return index.Search(scope, query, minSimilarity, one) == 1 ? one[0] : null;
    }
}

/// <summary>Scoped IVF-style index: each scope's entries live in cells that split by 2-means when full; a search probes
/// the cells with the closest centroids, prefilters their entries by Hamming distance of 384-bit sign codes (popcount)
/// and reranks the best with exact float cosine (<see cref="TensorPrimitives"/>). LRU and TTL eviction.</summary>
internal sealed class VectorIndex<TValue> : IVectorIndex<TValue>, IDisposable
{
    // A new cell holds one vector and grows geometrically up to MaxCellSize: most scopes (one turn of one conversation,
    // one set of sampling parameters) only ever hold an entry or two, so slots allocated ahead would dominate memory.
    private const int InitialCapacity = 1;

    // Entry object, two dictionary slots, LRU links: measured overhead beyond the per-slot arrays.
    private const int EntryOverheadBytes = 160;

    // Cell object and array headers, plus the scope's partition, lock and tables, which a one-cell scope pays alone.
    private const int CellOverheadBytes = 900;

    private readonly VectorIndexOptions _options;
    private readonly TimeProvider _time;
    private readonly int _dimensions;
    private readonly int _codeWords;
    private readonly ConcurrentDictionary<CacheScope, Partition> _partitions = new();
    private readonly ConcurrentDictionary<CacheKey, Entry> _byKey = new();
    private readonly Lock _lruLock = new();
    private readonly long _sweepIntervalTicks;
    private Entry? _lruHead;
    private Entry? _lruTail;
    private int _count;
    private long _allocatedSlots;
    private long _cells;
    private long _nextSweepTicks;

    public VectorIndex(IOptions<VectorIndexOptions> options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options.Value;
        _time = timeProvider;
        _dimensions = _options.Dimensions;
        _codeWords = (_dimensions + 63) / 64;

        // Expired entries are swept every eighth of their lifetime, started by a write and run on the thread pool: none is
        // held much past its expiry, the scan is paid once per interval rather than per write or per entry, and the write
        // that starts it (a request storing its answer) does not wait for it.
        _sweepIntervalTicks = _options.TimeToLive is { } ttl ? Math.Max(TimeSpan.TicksPerSecond, ttl.Ticks / 8) : 0;
        _nextSweepTicks = _options.TimeToLive is null ? long.MaxValue : _time.GetUtcNow().UtcTicks + _sweepIntervalTicks;
    }

    public VectorIndex(VectorIndexOptions options, TimeProvider? timeProvider = null)
        : this(Options.Create(options), timeProvider ?? TimeProvider.System)
    {
    }

    public int Count => Volatile.Read(ref _count);

    public long EstimatedBytes =>
        (Volatile.Read(ref _allocatedSlots) * SlotBytes) + ((long)Count * EntryOverheadBytes) + (Volatile.Read(ref _cells) * CellOverheadBytes);

    /// <summary>Bytes one entry costs in a full cell: vector, sign code, entry reference and bookkeeping.</summary>
    public int BytesPerEntry => SlotBytes + EntryOverheadBytes;

    private int SlotBytes => (8 * _codeWords) + (4 * _dimensions) + 8;

    public void Upsert(CacheScope scope, string id, CacheKey key, ReadOnlySpan<float> vector, TValue value)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(scope.Tenant, nameof(scope));
        ArgumentNullException.ThrowIfNull(scope.ContextFingerprint, nameof(scope));
        CheckDimensions(vector);

        Span<float> unit = stackalloc float[_dimensions];
        Normalise(vector, unit);
        var now = _time.GetUtcNow().UtcTicks;
        var expires = _options.TimeToLive is { } ttl ? (ttl.Ticks >= long.MaxValue - now ? long.MaxValue : now + ttl.Ticks) : long.MaxValue;

        Entry entry;
        while (true)
        {
            var partition = _partitions.GetOrAdd(scope, static s => new Partition(s));
            partition.Lock.EnterWriteLock();
            try
            {
                if (partition.Retired)
                {
                    continue;
                }

                if (partition.ById.TryGetValue(id, out var existing))
                {
                    entry = existing;
                    if (entry.Key != key)
                    {
                        _byKey.TryRemove(new KeyValuePair<CacheKey, Entry>(entry.Key, entry));
                    }

                    entry.Key = key;
                    entry.Value = value;
                    entry.ExpiresAtTicks = expires;
                    RemoveFromCell(partition, entry);
                    Place(partition, entry, unit);
                }
                else
                {
                    entry = new Entry(id, key, value, partition) { ExpiresAtTicks = expires };
                    partition.ById[id] = entry;
                    Place(partition, entry, unit);
                    Interlocked.Increment(ref _count);
                }

                // Under the write lock, so any later removal of the entry also drops its key.
                _byKey[key] = entry;
            }
            finally
            {
                partition.Lock.ExitWriteLock();
            }

            break;
        }

        Touch(entry, link: true);
        EvictOverCapacity();
        SweepIfDue(now);
    }

    public bool Remove(CacheScope scope, string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (!_partitions.TryGetValue(scope, out var partition))
        {
            return false;
        }

        Entry? entry;
        partition.Lock.EnterReadLock();
        try
        {
            partition.ById.TryGetValue(id, out entry);
        }
        finally
        {
            partition.Lock.ExitReadLock();
        }

        return entry is not null && RemoveEntry(entry);
    }

    public bool TryGetExact(CacheScope scope, CacheKey key, [MaybeNullWhen(false)] out VectorMatch<TValue> match)
    {
        // The key already hashes the scope; comparing the scope again makes a collision or a caller's mistake harmless.
        if (_byKey.TryGetValue(key, out var entry) && entry.Partition.Scope == scope && !entry.Removed &&
            entry.ExpiresAtTicks > _time.GetUtcNow().UtcTicks)
        {
            Touch(entry, link: false);
            match = new VectorMatch<TValue>(entry.Id, 1f, entry.Value);
            return true;
        }

        match = default;
        return false;
    }

    public int Search(CacheScope scope, ReadOnlySpan<float> query, float minSimilarity, Span<VectorMatch<TValue>> results)
    {
        if (results.IsEmpty || !_partitions.TryGetValue(scope, out var partition))
        {
            return 0;
        }

        CheckDimensions(query);
        Span<float> unit = stackalloc float[_dimensions];
        Normalise(query, unit);
        Span<ulong> code = stackalloc ulong[_codeWords];
        SignCode(unit, code);
        var now = _time.GetUtcNow().UtcTicks;

        int found;
        Entry? best = null;
        Entry? expired = null;
        partition.Lock.EnterReadLock();
        try
        {
            found = SearchLocked(partition, unit, code, minSimilarity, now, results, ref best, ref expired);
        }
        finally
        {
            partition.Lock.ExitReadLock();
        }

        if (best is not null)
        {
            // Only the best hit counts as a use: it is the one a cache serves.
            Touch(best, link: false);
        }

        if (expired is not null)
        {
            RemoveEntry(expired, expiredBy: now);
        }

        return found;
    }

    public int RemoveExpired()
    {
        var now = _time.GetUtcNow().UtcTicks;
        var removed = 0;
        List<Entry> stale = [];
        foreach (var (_, partition) in _partitions)
        {
            stale.Clear();
            partition.Lock.EnterReadLock();
            try
            {
                foreach (var e in partition.ById.Values)
                {
                    if (e.ExpiresAtTicks <= now)
                    {
                        stale.Add(e);
                    }
                }
            }
            finally
            {
                partition.Lock.ExitReadLock();
            }

            foreach (var e in stale)
            {
                removed += RemoveEntry(e, expiredBy: now) ? 1 : 0;
            }
        }

        return removed;
    }

    public void Dispose()
    {
        foreach (var p in _partitions.Values)
        {
            p.Lock.Dispose();
        }
    }

    /// <summary>Cells and their sizes of one scope, for tests and diagnostics.</summary>
    internal int[] CellSizes(CacheScope scope)
    {
        if (!_partitions.TryGetValue(scope, out var partition))
        {
            return [];
        }

        partition.Lock.EnterReadLock();
        try
        {
            return [.. partition.Cells.Select(c => c.Count)];
        }
        finally
        {
            partition.Lock.ExitReadLock();
        }
    }

    private int SearchLocked(
        Partition partition,
        ReadOnlySpan<float> query,
        ReadOnlySpan<ulong> code,
        float minSimilarity,
        long now,
        Span<VectorMatch<TValue>> results,
        ref Entry? best,
        ref Entry? expired)
    {
        var cells = partition.Cells;
        if (partition.Count == 0 || cells.Count == 0)
        {
            return 0;
        }

        // Stage 1: the cells whose centroids are closest to the query (all of them for a small scope).
        var probe = Math.Min(_options.ProbedCells, cells.Count);
        var exact = partition.Count <= _options.ExactSearchBelow;
        if (exact)
        {
            probe = cells.Count;
        }

        var chosen = ArrayPool<Cell>.Shared.Rent(probe);
        try
        {
            var candidates = ChooseCells(cells, query, probe, chosen);
            var rerank = exact ? candidates : Math.Min(_options.RerankCandidates, candidates);
            return ScanCells(chosen.AsSpan(0, probe), candidates, query, code, rerank, minSimilarity, now, results, ref best, ref expired);
        }
        finally
        {
            ArrayPool<Cell>.Shared.Return(chosen, clearArray: true);
        }
    }

    // Keeps the `probe` cells with the highest centroid cosine (insertion into a small sorted buffer).
    private int ChooseCells(List<Cell> cells, ReadOnlySpan<float> query, int probe, Cell[] chosen)
    {
        if (probe == cells.Count)
        {
            var total = 0;
            for (var c = 0; c < cells.Count; c++)
            {
                chosen[c] = cells[c];
                total += cells[c].Count;
            }

            return total;
        }

        // A cell is ranked by how far inside its typical radius the query falls (angle to the centroid minus the
        // members' mean angle to it), not by the centroid cosine alone: cells formed early hold a mix of topics, so
        // their centroids sit far from every query although some members are close to it.
        Span<float> scores = probe <= 256 ? stackalloc float[probe] : new float[probe];
        var kept = 0;
        foreach (var cell in cells)
        {
            var s = cell.MeanAngle - MathF.Acos(Math.Clamp(TensorPrimitives.Dot(query, cell.Centroid), -1f, 1f));
            if (kept == probe && s <= scores[kept - 1])
            {
                continue;
            }

            var at = kept < probe ? kept++ : probe - 1;
            while (at > 0 && scores[at - 1] < s)
            {
                scores[at] = scores[at - 1];
                chosen[at] = chosen[at - 1];
                at--;
            }

            scores[at] = s;
            chosen[at] = cell;
        }

        var count = 0;
        for (var c = 0; c < kept; c++)
        {
            count += chosen[c].Count;
        }

        return count;
    }

    // Stage 2: Hamming distance of 384-bit sign codes over the probed cells, kept by a histogram cut-off (no sort);
    // stage 3: exact cosine on the survivors.
    private int ScanCells(
        ReadOnlySpan<Cell> cells,
        int candidates,
        ReadOnlySpan<float> query,
        ReadOnlySpan<ulong> code,
        int keep,
        float minSimilarity,
        long now,
        Span<VectorMatch<TValue>> results,
        ref Entry? best,
        ref Entry? expired)
    {
        var words = _codeWords;
        var bits = words * 64;
        var distances = ArrayPool<ushort>.Shared.Rent(Math.Max(1, candidates));
        Span<int> histogram = bits + 1 <= 2048 ? stackalloc int[bits + 1] : new int[bits + 1];
        histogram.Clear();
        try
        {
            var at = 0;
            foreach (var cell in cells)
            {
                HammingDistances(cell.Codes.AsSpan(0, cell.Count * words), code, words, distances.AsSpan(at, cell.Count), histogram);
                at += cell.Count;
            }

            var cutoff = 0;
            var kept = 0;
            while (cutoff < bits && kept + histogram[cutoff] < keep)
            {
                kept += histogram[cutoff];
                cutoff++;
            }

            // Everything strictly below the cut-off, then ties at the cut-off until `keep` is met.
            var ties = keep - kept;
            var found = 0;
            at = 0;
            foreach (var cell in cells)
            {
                for (var slot = 0; slot < cell.Count; slot++, at++)
                {
                    var d = distances[at];
                    if (d > cutoff || (d == cutoff && ties-- <= 0))
                    {
                        continue;
                    }

                    var similarity = TensorPrimitives.Dot(query, cell.Vectors.AsSpan(slot * _dimensions, _dimensions));
                    if (similarity < minSimilarity || (found == results.Length && similarity <= results[^1].Similarity))
                    {
                        continue;
                    }

                    var entry = cell.Entries[slot];
                    if (entry.ExpiresAtTicks <= now)
                    {
                        expired ??= entry;
                        continue;
                    }

                    found = Insert(results, found, new VectorMatch<TValue>(entry.Id, similarity, entry.Value), out var isBest);
                    if (isBest)
                    {
                        best = entry;
                    }
                }
            }

            return found;
        }
        finally
        {
            ArrayPool<ushort>.Shared.Return(distances);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void HammingDistances(ReadOnlySpan<ulong> codes, ReadOnlySpan<ulong> query, int words, Span<ushort> distances, Span<int> histogram)
    {
        if (words == 6)
        {
            // The 384-dimension case, unrolled: six XOR + POPCNT per entry.
            ulong q0 = query[0], q1 = query[1], q2 = query[2], q3 = query[3], q4 = query[4], q5 = query[5];
            for (int i = 0, o = 0; i < distances.Length; i++, o += 6)
            {
                var d = BitOperations.PopCount(codes[o] ^ q0) + BitOperations.PopCount(codes[o + 1] ^ q1) +
                        BitOperations.PopCount(codes[o + 2] ^ q2) + BitOperations.PopCount(codes[o + 3] ^ q3) +
                        BitOperations.PopCount(codes[o + 4] ^ q4) + BitOperations.PopCount(codes[o + 5] ^ q5);
                distances[i] = (ushort)d;
                histogram[d]++;
            }

            return;
        }

        for (int i = 0, o = 0; i < distances.Length; i++, o += words)
        {
            var d = 0;
            for (var w = 0; w < words; w++)
            {
                d += BitOperations.PopCount(codes[o + w] ^ query[w]);
            }

            distances[i] = (ushort)d;
            histogram[d]++;
        }
    }

    // Keeps results sorted best first; says whether the match became the best so far.
    private static int Insert(Span<VectorMatch<TValue>> results, int found, VectorMatch<TValue> match, out bool isBest)
    {
        var limit = results.Length;
        var at = Math.Min(found, limit - 1);
        while (at > 0 && results[at - 1].Similarity < match.Similarity)
        {
            results[at] = results[at - 1];
            at--;
        }

        results[at] = match;
        isBest = at == 0;
        return Math.Min(found + 1, limit);
    }

    // Puts the entry in the cell with the closest centroid, splitting that cell when it is full.
    private void Place(Partition partition, Entry entry, ReadOnlySpan<float> unit)
    {
        var cells = partition.Cells;
        var target = cells.Count == 1 ? cells[0] : null;
        if (cells.Count > 1)
        {
            var bestScore = float.MinValue;
            foreach (var cell in cells)
            {
                var s = TensorPrimitives.Dot(unit, cell.Centroid);
                if (s > bestScore)
                {
                    bestScore = s;
                    target = cell;
                }
            }
        }

        if (target is null)
        {
            target = new Cell(InitialCapacity, _dimensions, _codeWords);
            cells.Add(target);
            Interlocked.Add(ref _allocatedSlots, InitialCapacity);
            Interlocked.Increment(ref _cells);
        }

        Append(target, entry, unit);
        partition.Count++;
        if (target.Count >= _options.MaxCellSize)
        {
            Split(partition, target);
        }
    }

    private void Append(Cell cell, Entry entry, ReadOnlySpan<float> unit)
    {
        if (cell.Count == cell.Capacity)
        {
            // Double while small, then grow by half (not double) so a full-size cell wastes at most a third of its slots.
            var grown = Math.Min(_options.MaxCellSize, cell.Capacity < 16 ? cell.Capacity * 2 : RoundUp16(cell.Capacity + (cell.Capacity / 2)));
            Interlocked.Add(ref _allocatedSlots, grown - cell.Capacity);
            cell.Resize(grown, _dimensions, _codeWords);
        }

        var slot = cell.Count++;
        unit.CopyTo(cell.Vectors.AsSpan(slot * _dimensions, _dimensions));
        SignCode(unit, cell.Codes.AsSpan(slot * _codeWords, _codeWords));
        cell.Entries[slot] = entry;
        entry.Cell = cell;
        entry.Slot = slot;
        cell.Include(unit);
        cell.RefreshCentroid();
    }

    // 2-means on the cell's members, seeded with two far-apart members; the smaller side moves to a new cell. Runs under
    // the write lock: a few milliseconds once every MaxCellSize / 2 inserts into one region.
    private void Split(Partition partition, Cell cell)
    {
        var n = cell.Count;
        var dims = _dimensions;
        var vectors = cell.Vectors;
        if (!cell.HasCentroid)
        {
            cell.TrackCentroid(dims);
        }

        var centroid = cell.Centroid;
        var a = Farthest(vectors, n, dims, centroid);
        var b = Farthest(vectors, n, dims, vectors.AsSpan(a * dims, dims));
        var centreA = vectors.AsSpan(a * dims, dims).ToArray();
        var centreB = vectors.AsSpan(b * dims, dims).ToArray();
        var side = new bool[n];
        for (var iteration = 0; iteration < 4; iteration++)
        {
            var sumA = new float[dims];
            var sumB = new float[dims];
            for (var i = 0; i < n; i++)
            {
                var v = vectors.AsSpan(i * dims, dims);
                side[i] = TensorPrimitives.Dot(v, centreB) > TensorPrimitives.Dot(v, centreA);
                TensorPrimitives.Add(side[i] ? sumB : sumA, v, side[i] ? sumB : sumA);
            }

            Normalise(sumA, centreA, allowZero: true);
            Normalise(sumB, centreB, allowZero: true);
        }

        var moving = side.Count(s => s);
        if (moving == 0 || moving == n)
        {
            // Degenerate (identical vectors): split by position so the cell still halves.
            for (var i = 0; i < n; i++)
            {
                side[i] = i >= n / 2;
            }

            moving = n - (n / 2);
        }

        // Members that fit neither half (far below the typical cosine to their new centre) were placed when the
        // cells were still coarse; left here they would sit in a cell whose centroid points elsewhere, where no probe
        // finds them. They are re-homed to the best cell of the whole scope below.
        var fit = new float[n];
        for (var i = 0; i < n; i++)
        {
            fit[i] = TensorPrimitives.Dot(vectors.AsSpan(i * dims, dims), side[i] ? centreB : centreA);
        }

        var mean = TensorPrimitives.Average(fit);
        var spread = MathF.Sqrt(MathF.Max(0f, TensorPrimitives.SumOfSquares(fit) / n - (mean * mean)));
        var strayBelow = mean - (1.5f * spread);
        List<(Entry Entry, float[] Vector)> strays = [];

        var capacity = Math.Min(_options.MaxCellSize, RoundUp16(Math.Max(16, moving + (moving / 4))));
        var fresh = new Cell(capacity, dims, _codeWords);
        Interlocked.Add(ref _allocatedSlots, capacity);
        Interlocked.Increment(ref _cells);
        var keep = 0;
        for (var i = 0; i < n; i++)
        {
            var entry = cell.Entries[i];
            var v = vectors.AsSpan(i * dims, dims);
            if (fit[i] < strayBelow && partition.Cells.Count > 1)
            {
                strays.Add((entry, v.ToArray()));
            }
            else if (side[i])
            {
                var slot = fresh.Count++;
                v.CopyTo(fresh.Vectors.AsSpan(slot * dims, dims));
                cell.Codes.AsSpan(i * _codeWords, _codeWords).CopyTo(fresh.Codes.AsSpan(slot * _codeWords, _codeWords));
                fresh.Entries[slot] = entry;
                entry.Cell = fresh;
                entry.Slot = slot;
            }
            else
            {
                if (keep != i)
                {
                    v.CopyTo(vectors.AsSpan(keep * dims, dims));
                    cell.Codes.AsSpan(i * _codeWords, _codeWords).CopyTo(cell.Codes.AsSpan(keep * _codeWords, _codeWords));
                    cell.Entries[keep] = entry;
                }

                entry.Slot = keep;
                keep++;
            }
        }

        Array.Clear(cell.Entries, keep, n - keep);
        cell.Count = keep;
        cell.TrackCentroid(dims);
        fresh.TrackCentroid(dims);
        partition.Cells.Add(fresh);

        foreach (var (entry, v) in strays)
        {
            Cell? home = null;
            var bestScore = float.MinValue;
            foreach (var candidate in partition.Cells)
            {
                var score = TensorPrimitives.Dot(v, candidate.Centroid);
                if (score > bestScore && candidate.Count < _options.MaxCellSize - 1)
                {
                    bestScore = score;
                    home = candidate;
                }
            }

            Append(home ?? cell, entry, v);
        }

        // Both halves keep a quarter of headroom, no more.
        var trimmed = Math.Min(_options.MaxCellSize, RoundUp16(Math.Max(16, cell.Count + (cell.Count / 4))));
        if (trimmed < cell.Capacity)
        {
            Interlocked.Add(ref _allocatedSlots, trimmed - cell.Capacity);
            cell.Resize(trimmed, dims, _codeWords);
        }
    }

    private static int RoundUp16(int n) => (n + 15) & ~15;

    private static int Farthest(float[] vectors, int n, int dims, ReadOnlySpan<float> from)
    {
        var worst = 0;
        var worstScore = float.MaxValue;
        for (var i = 0; i < n; i++)
        {
            var s = TensorPrimitives.Dot(vectors.AsSpan(i * dims, dims), from);
            if (s < worstScore)
            {
                worstScore = s;
                worst = i;
            }
        }

        return worst;
    }

    // Swap-with-last keeps each cell dense, so scans never skip holes.
    private void RemoveFromCell(Partition partition, Entry entry)
    {
        var cell = entry.Cell!;
        var slot = entry.Slot;
        var last = cell.Count - 1;
        var dims = _dimensions;
        cell.Exclude(cell.Vectors.AsSpan(slot * dims, dims));
        if (slot != last)
        {
            cell.Vectors.AsSpan(last * dims, dims).CopyTo(cell.Vectors.AsSpan(slot * dims, dims));
            cell.Codes.AsSpan(last * _codeWords, _codeWords).CopyTo(cell.Codes.AsSpan(slot * _codeWords, _codeWords));
            var moved = cell.Entries[last];
            cell.Entries[slot] = moved;
            moved.Slot = slot;
        }

        cell.Entries[last] = null!;
        cell.Count = last;
        partition.Count--;
        entry.Cell = null;
        entry.Slot = -1;

        if (cell.Count == 0)
        {
            partition.Cells.Remove(cell);
            Interlocked.Add(ref _allocatedSlots, -cell.Capacity);
            Interlocked.Decrement(ref _cells);
            return;
        }

        cell.RefreshCentroid();

        // Give memory back once a cell is a quarter full.
        if (cell.Capacity > InitialCapacity && cell.Count <= cell.Capacity / 4)
        {
            var shrunk = cell.Capacity <= 16 ? cell.Capacity / 2 : RoundUp16(cell.Capacity / 2);
            Interlocked.Add(ref _allocatedSlots, shrunk - cell.Capacity);
            cell.Resize(shrunk, dims, _codeWords);
        }
    }

    // Removes this very entry if it is still stored (its id may since have been replaced or removed) and, when removed for
    // its age, still expired by expiredBy: a write of the same id since then reuses the entry with a new expiry.
    private bool RemoveEntry(Entry entry, long expiredBy = long.MaxValue)
    {
        var partition = entry.Partition;
        partition.Lock.EnterWriteLock();
        try
        {
            if (entry.Removed || !partition.ById.TryGetValue(entry.Id, out var current) || !ReferenceEquals(current, entry)
                || entry.ExpiresAtTicks > expiredBy)
            {
                return false;
            }

            RemoveFromCell(partition, entry);
            partition.ById.Remove(entry.Id);
            entry.Removed = true;
            Interlocked.Decrement(ref _count);
            if (partition.Count == 0)
            {
                partition.Retired = true;
                _partitions.TryRemove(new KeyValuePair<CacheScope, Partition>(partition.Scope, partition));
            }
        }
        finally
        {
            partition.Lock.ExitWriteLock();
        }

        _byKey.TryRemove(new KeyValuePair<CacheKey, Entry>(entry.Key, entry));
        lock (_lruLock)
        {
            Unlink(entry);
        }

        return true;
    }

    private void Touch(Entry entry, bool link)
    {
        lock (_lruLock)
        {
            if (entry.Removed || (!entry.InLru && !link))
            {
                return;
            }

            Unlink(entry);
            entry.Next = _lruHead;
            if (_lruHead is not null)
            {
                _lruHead.Previous = entry;
            }

            _lruHead = entry;
            _lruTail ??= entry;
            entry.InLru = true;
        }
    }

    private void Unlink(Entry entry)
    {
        if (!entry.InLru)
        {
            return;
        }

        if (entry.Previous is not null)
        {
            entry.Previous.Next = entry.Next;
        }
        else
        {
            _lruHead = entry.Next;
        }

        if (entry.Next is not null)
        {
            entry.Next.Previous = entry.Previous;
        }
        else
        {
            _lruTail = entry.Previous;
        }

        entry.Previous = entry.Next = null;
        entry.InLru = false;
    }

    private void EvictOverCapacity()
    {
        while (Count > _options.MaxEntries)
        {
            Entry? victim;
            lock (_lruLock)
            {
                victim = _lruTail;
                if (victim is null)
                {
                    return;
                }

                Unlink(victim);
            }

            RemoveEntry(victim);
        }
    }

    private void SweepIfDue(long now)
    {
        var due = Volatile.Read(ref _nextSweepTicks);
        if (now < due || Interlocked.CompareExchange(ref _nextSweepTicks, now + _sweepIntervalTicks, due) != due)
        {
            return;
        }

        ScheduleSweep(this);
    }

    /// <summary>Runs a sweep the write path found due; the thread pool by default (tests run it themselves).</summary>
    internal Action<VectorIndex<TValue>> ScheduleSweep { get; set; } = static index =>
        ThreadPool.UnsafeQueueUserWorkItem(static self =>
        {
            try
            {
                self.RemoveExpired();
            }
            catch (ObjectDisposedException)
            {
                // Disposed while the sweep waited: its locks are gone, and so is everything it would have swept.
            }
        }, index, preferLocal: false);

    private void CheckDimensions(ReadOnlySpan<float> vector)
    {
        if (vector.Length != _dimensions)
        {
            throw new ArgumentException($"Expected {_dimensions} dimensions, got {vector.Length}.", nameof(vector));
        }
    }

    private static void SignCode(ReadOnlySpan<float> unit, Span<ulong> code)
    {
        code.Clear();
        for (var i = 0; i < unit.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(unit[i]) < 0)
            {
                code[i >> 6] |= 1UL << (i & 63);
            }
        }
    }

    private static void Normalise(ReadOnlySpan<float> vector, Span<float> unit, bool allowZero = false)
    {
        var norm = TensorPrimitives.Norm(vector);
        if (norm <= 0 || !float.IsFinite(norm))
        {
            if (allowZero)
            {
                unit.Clear();
                return;
            }

            throw new ArgumentException("Vector must be finite and non-zero.", nameof(vector));
        }

        TensorPrimitives.Divide(vector, norm, unit);
    }

    private sealed class Partition(CacheScope scope)
    {
        public CacheScope Scope { get; } = scope;

        public ReaderWriterLockSlim Lock { get; } = new(LockRecursionPolicy.NoRecursion);

        public Dictionary<string, Entry> ById { get; } = new(StringComparer.Ordinal);

        public List<Cell> Cells { get; } = [];

        public int Count { get; set; }

        public bool Retired { get; set; }
    }

    private sealed class Cell(int capacity, int dimensions, int codeWords)
    {
        public int Capacity { get; private set; } = capacity;

        public int Count { get; set; }

        public ulong[] Codes { get; private set; } = new ulong[capacity * codeWords];

        public float[] Vectors { get; private set; } = new float[capacity * dimensions];

        public Entry[] Entries { get; private set; } = new Entry[capacity];

        // A scope's only cell is never ranked against another, so it keeps no centroid until it first splits: a
        // one-entry scope then holds its one vector, not two more of the same width.
        private float[]? _centroidSum;
        private float[]? _centroid;

        public bool HasCentroid => _centroid is not null;

        /// <summary>Normalised mean of the members; only cells of a scope that has split have one.</summary>
        public float[] Centroid => _centroid ?? throw new InvalidOperationException("A scope's only cell keeps no centroid.");

        /// <summary>Mean angle between the members and the centroid (the norm of the mean of unit vectors is the mean
        /// cosine to their normalised mean).</summary>
        public float MeanAngle { get; private set; }

        public void Include(ReadOnlySpan<float> unit)
        {
            if (_centroidSum is not null)
            {
                TensorPrimitives.Add(_centroidSum, unit, _centroidSum);
            }
        }

        public void Exclude(ReadOnlySpan<float> unit)
        {
            if (_centroidSum is not null)
            {
                TensorPrimitives.Subtract(_centroidSum, unit, _centroidSum);
            }
        }

        // Sums the current members afresh, starting to track the centroid if the cell did not yet.
        public void TrackCentroid(int dims)
        {
            _centroidSum ??= new float[dims];
            _centroid ??= new float[dims];
            _centroidSum.AsSpan().Clear();
            for (var i = 0; i < Count; i++)
            {
                TensorPrimitives.Add(_centroidSum, Vectors.AsSpan(i * dims, dims), _centroidSum);
            }

            RefreshCentroid();
        }

        public void RefreshCentroid()
        {
            if (_centroidSum is null || _centroid is null)
            {
                return;
            }

            Normalise(_centroidSum, _centroid, allowZero: true);
            MeanAngle = Count == 0 ? 0f : MathF.Acos(Math.Clamp(TensorPrimitives.Norm(_centroidSum) / Count, -1f, 1f));
        }

        // Only under the partition's write lock: readers never see a cell mid-copy.
        public void Resize(int newCapacity, int dims, int words)
        {
            Codes = Resized(Codes, newCapacity * words, Count * words);
            Vectors = Resized(Vectors, newCapacity * dims, Count * dims);
            Entries = Resized(Entries, newCapacity, Count);
            Capacity = newCapacity;
        }

        private static T[] Resized<T>(T[] array, int length, int used)
        {
            var copy = new T[length];
            Array.Copy(array, copy, used);
            return copy;
        }
    }

    private sealed class Entry(string id, CacheKey key, TValue value, Partition partition)
    {
        public string Id { get; } = id;

        public CacheKey Key { get; set; } = key;

        public TValue Value { get; set; } = value;

        public Partition Partition { get; } = partition;

        public Cell? Cell { get; set; }

        public int Slot { get; set; } = -1;

        public long ExpiresAtTicks { get; set; }

        public bool Removed { get; set; }

        public bool InLru { get; set; }

        public Entry? Previous { get; set; }

        public Entry? Next { get; set; }
    }
}
