using System.IO.Hashing;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Router.Core.Analysis;

/// <summary>
/// The analyses (profile and sentence embedding) of recently seen requests, keyed by a hash of everything analysis
/// reads. Analysis is a pure function of those inputs, so a repeat (a retry, an agent's loop, a popular prompt, every
/// exact-cache hit) reuses the first result instead of paying the patterns and the embedding model again. The hash is
/// 128-bit XXH3 with a per-process random seed, so colliding requests cannot be crafted from outside.
/// </summary>
public sealed class AnalysisMemo : IDisposable
{
    private static readonly long Seed = Random.Shared.NextInt64();

    [ThreadStatic]
    private static XxHash128? t_hasher;

    private readonly MemoryCache? _cache;

    /// <summary>A memo holding up to <see cref="RequestAnalyzerOptions.MemoEntries"/> analyses (none when 0).</summary>
    public AnalysisMemo(IOptions<RequestAnalyzerOptions> options)
    {
        var entries = options.Value.MemoEntries;
        _cache = entries > 0 ? new MemoryCache(new MemoryCacheOptions { SizeLimit = entries }) : null;
    }

    /// <summary>Whether the memo is on.</summary>
    public bool Enabled => _cache is not null;

    /// <summary>The key of <paramref name="request"/>: every input of analysis, in order and length-prefixed.</summary>
    public static UInt128 KeyOf(AnalysisRequest request)
    {
        var hasher = t_hasher ??= new XxHash128(Seed);
        hasher.Reset();
        Span<int> header = stackalloc int[4];
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
        if (_cache is not null && _cache.TryGetValue(key, out var value) && value is Entry entry)
        {
            (profile, embedding) = (entry.Profile, entry.Embedding);
            return true;
        }

        (profile, embedding) = (null!, default);
        return false;
    }

    /// <summary>Remembers an analysis. When the memo is full the newest entries are refused until compaction (in the
    /// background) evicts the least recently used.</summary>
    public void Add(UInt128 key, RequestProfile profile, ReadOnlyMemory<float> embedding)
    {
        if (_cache is null)
        {
            return;
        }

        using var cacheEntry = _cache.CreateEntry(key);
        cacheEntry.Size = 1;
        cacheEntry.Value = new Entry(profile, embedding);
    }

    /// <inheritdoc />
    public void Dispose() => _cache?.Dispose();

    private sealed record Entry(RequestProfile Profile, ReadOnlyMemory<float> Embedding);
}
