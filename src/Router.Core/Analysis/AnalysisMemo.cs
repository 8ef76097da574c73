using System.IO.Hashing;
using System.Numerics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;

namespace Router.Core.Analysis;

/// <summary>
/// The analyses (profile and sentence embedding) of recently seen requests, keyed by a hash of the tenant and everything
/// analysis reads. Analysis is a pure function of those inputs, so a repeat (a retry, an agent's loop, a popular prompt,
/// every exact-cache hit) reuses the first result instead of paying the patterns and the embedding model again. The
/// tenant is in the key because a reused analysis answers measurably faster: shared, it would tell one tenant that
/// another had just sent the same prompt. The hash is 128-bit XXH3 with a per-process random seed, so colliding
/// requests cannot be crafted from outside.
/// </summary>
/// <remarks>
/// A direct-mapped table: each key has one slot, and a newer analysis takes the slot over. Lookups and stores are a
/// single array access with no locks, no per-entry bookkeeping and no compaction. A <c>MemoryCache</c> with a size
/// limit measured about 3% of the router's CPU on the cache-miss path in its background compactions (every prompt is
/// new there, so the memo is always full and always evicting).
/// </remarks>
public sealed class AnalysisMemo
{
    private static readonly long Seed = Random.Shared.NextInt64();

    [ThreadStatic]
    private static XxHash128? t_hasher;

    private readonly Entry?[] _slots;
    private readonly int _mask;

    /// <summary>A memo of <see cref="RequestAnalyzerOptions.MemoEntries"/> slots, rounded up to a power of two (none when 0).</summary>
    public AnalysisMemo(IOptions<RequestAnalyzerOptions> options)
    {
        var entries = options.Value.MemoEntries;
        _slots = entries > 0 ? new Entry?[(int)BitOperations.RoundUpToPowerOf2((uint)entries)] : [];
        _mask = _slots.Length - 1;
    }

    /// <summary>Whether the memo is on.</summary>
    public bool Enabled => _slots.Length > 0;

    /// <summary>How many analyses it can hold.</summary>
    public int Capacity => _slots.Length;

    /// <summary>The key of <paramref name="request"/> sent by <paramref name="tenantId"/>: the tenant and every input of
    /// analysis, in order and length-prefixed.</summary>
    public static UInt128 KeyOf(string tenantId, AnalysisRequest request)
    {
        var hasher = t_hasher ??= new XxHash128(Seed);
        hasher.Reset();
        Span<int> header = stackalloc int[4];
        header[0] = tenantId.Length;
        hasher.Append(MemoryMarshal.AsBytes(header[..1]));
        hasher.Append(MemoryMarshal.AsBytes(tenantId.AsSpan()));
        header[0] = request.Messages.Count;
        header[1] = request.HasTools ? 1 : 0;
        header[2] = request.MaxTokens ?? -1;
        header[3] = request.ResponseFormatType?.Length ?? -1;
        hasher.Append(MemoryMarshal.AsBytes(header));
        hasher.Append(MemoryMarshal.AsBytes((request.ResponseFormatType ?? "").AsSpan()));
        foreach (var message in request.Messages)
        {
            header[0] = message.Role.Length;
            header[1] = message.Text?.Length ?? -1;
            header[2] = message.HasImage ? 1 : 0;
            hasher.Append(MemoryMarshal.AsBytes(header[..3]));
            hasher.Append(MemoryMarshal.AsBytes(message.Role.AsSpan()));
            hasher.Append(MemoryMarshal.AsBytes(message.Text.AsSpan()));
        }

        return hasher.GetCurrentHashAsUInt128();
    }

    /// <summary>The memoised analysis under <paramref name="key"/>, if any.</summary>
    public bool TryGet(UInt128 key, out RequestProfile profile, out ReadOnlyMemory<float> embedding)
    {
        if (_slots.Length > 0 && Volatile.Read(ref _slots[(int)(ulong)key & _mask]) is { } entry && entry.Key == key)
        {
            (profile, embedding) = (entry.Profile, entry.Embedding);
            return true;
        }

        (profile, embedding) = (null!, default);
        return false;
    }

    /// <summary>Remembers an analysis in its key's slot, in place of whatever was there.</summary>
    public void Add(UInt128 key, RequestProfile profile, ReadOnlyMemory<float> embedding)
    {
        if (_slots.Length > 0)
        {
            Volatile.Write(ref _slots[(int)(ulong)key & _mask], new Entry(key, profile, embedding));
        }
    }

    private sealed record Entry(UInt128 Key, RequestProfile Profile, ReadOnlyMemory<float> Embedding);
}
