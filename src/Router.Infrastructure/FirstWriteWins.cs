using System.Collections.Concurrent;

namespace Router.Infrastructure;

/// <summary>Rows of an in-memory store, one per key, the first write wins; past <paramref name="maxRows"/> the oldest
/// are dropped, so a long-running embedded server stays bounded (configure storage to keep everything).</summary>
internal sealed class FirstWriteWins<TKey, TValue>(int maxRows, IEqualityComparer<TKey>? comparer = null)
    where TKey : notnull
{
    private readonly ConcurrentQueue<TKey> _order = new();
    private int _count;   // ConcurrentDictionary.Count takes every lock; the rows keep their own

    /// <summary>The rows (read, or updated in place).</summary>
    public ConcurrentDictionary<TKey, TValue> Rows { get; } = new(comparer);

    /// <summary>Adds the row unless one with its key is there; drops the oldest when past the bound.</summary>
    public bool TryAdd(TKey key, TValue value)
    {
        if (!Rows.TryAdd(key, value))
        {
            return false;
        }

        _order.Enqueue(key);
        if (Interlocked.Increment(ref _count) > maxRows && _order.TryDequeue(out var oldest) && Rows.TryRemove(oldest, out _))
        {
            Interlocked.Decrement(ref _count);
        }

        return true;
    }
}
