using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Router.Core.Analysis;

/// <summary>
/// Similar training prompts and how both models did on them (RouteLLM's similarity-weighted idea, compressed):
/// embeddings are centred, projected to a few principal directions and stored as int8, outcomes as bytes.
/// Returns the failure rates of the 10 and the 100 nearest exemplars as log-odds. The bank stays int8 in memory and is
/// scored against an int16 copy of the query (a quarter of the memory traffic of float rows: the scan reads the whole
/// bank for every request).
/// </summary>
internal sealed class ExemplarIndex
{
    public const int Near = 10;
    public const int Far = 100;

    private readonly int _inputDimensions;
    private readonly int _dimensions;
    private readonly float[] _mean;
    private readonly float[] _projection;
    private readonly sbyte[] _bank;
    private readonly byte[] _weakFail;
    private readonly byte[] _strongFail;
    private readonly double _globalWeak;
    private readonly double _globalStrong;

    /// <summary>An index over <paramref name="bank"/>: row-major int8 codes (value × 127) of the projected, unit-length exemplars.</summary>
    public ExemplarIndex(int inputDimensions, int dimensions, float[] mean, float[] projection, sbyte[] bank, byte[] weakFail, byte[] strongFail)
    {
        _inputDimensions = inputDimensions;
        _dimensions = dimensions;
        _mean = mean;
        _projection = projection;
        _bank = bank;
        _weakFail = weakFail;
        _strongFail = strongFail;
        Count = weakFail.Length;
        if (bank.Length != Count * dimensions || projection.Length != inputDimensions * dimensions || strongFail.Length != Count)
        {
            throw new InvalidDataException("Difficulty model exemplars are inconsistent.");
        }

        _globalWeak = Count == 0 ? 0 : weakFail.Average(b => b / 255.0);
        _globalStrong = Count == 0 ? 0 : strongFail.Average(b => b / 255.0);
    }

    public int Count { get; }

    public static ExemplarIndex? FromData(DifficultyModelData data)
    {
        if (data.Exemplars is null || data.ExemplarProjection is null || data.ExemplarMean is null || data.ExemplarWeakFail is null || data.ExemplarStrongFail is null)
        {
            return null;
        }

        var bytes = Convert.FromBase64String(data.Exemplars);
        var bank = MemoryMarshal.Cast<byte, sbyte>(bytes.AsSpan()).ToArray();
        return new ExemplarIndex(
            data.Dimensions,
            data.ExemplarDimensions,
            HalfCodec.Decode(data.ExemplarMean),
            HalfCodec.Decode(data.ExemplarProjection),
            bank,
            Convert.FromBase64String(data.ExemplarWeakFail),
            Convert.FromBase64String(data.ExemplarStrongFail));
    }

    /// <summary>Centres, projects and normalises an embedding into the index space.</summary>
    public void Project(ReadOnlySpan<float> embedding, Span<float> destination)
    {
        Span<float> centred = stackalloc float[_inputDimensions];
        TensorPrimitives.Subtract(embedding, _mean, centred);
        destination.Clear();
        for (var i = 0; i < _inputDimensions; i++)
        {
            TensorPrimitives.MultiplyAdd(_projection.AsSpan(i * _dimensions, _dimensions), centred[i], destination, destination);
        }

        var norm = TensorPrimitives.Norm<float>(destination);
        if (norm > 0)
        {
            TensorPrimitives.Divide(destination, norm, destination);
        }
    }

    /// <summary>Failure log-odds of the nearest exemplars; <paramref name="exclude"/> hides exemplars (out-of-fold training).</summary>
    public (double Weak10, double Strong10, double Weak100, double Strong100) Features(ReadOnlySpan<float> projected, Func<int, bool>? exclude = null)
    {
        // The query as int16: unit length, so ±32,767 keeps four and a half significant digits.
        Span<short> query = stackalloc short[_dimensions];
        // MaxMagnitude returns the element itself, sign included.
        var max = MathF.Abs(TensorPrimitives.MaxMagnitude(projected[.._dimensions]));
        var scale = max > 0 ? 32767f / max : 0;
        for (var j = 0; j < _dimensions; j++)
        {
            query[j] = (short)MathF.Round(projected[j] * scale);
        }

        Span<int> heapSim = stackalloc int[Far];
        Span<int> heapIdx = stackalloc int[Far];
        var size = 0;
        ReadOnlySpan<sbyte> bank = _bank;
        for (var e = 0; e < Count; e++)
        {
            if (exclude is not null && exclude(e))
            {
                continue;
            }

            var s = Dot(query, bank.Slice(e * _dimensions, _dimensions));
            if (size < Far)
            {
                heapSim[size] = s;
                heapIdx[size] = e;
                SiftUp(heapSim, heapIdx, size++);
            }
            else if (s > heapSim[0])
            {
                heapSim[0] = s;
                heapIdx[0] = e;
                SiftDown(heapSim, heapIdx, size);
            }
        }

        // Order the kept neighbours by similarity, most similar first (keys negated: the sort is ascending).
        var keys = heapSim[..size];
        TensorPrimitives.Negate<int>(keys, keys);
        keys.Sort(heapIdx[..size]);
        double w10 = 0, s10 = 0, w100 = 0, s100 = 0;
        for (var k = 0; k < size; k++)
        {
            var e = heapIdx[k];
            var wf = _weakFail[e] / 255.0;
            var sf = _strongFail[e] / 255.0;
            if (k < Near)
            {
                w10 += wf;
                s10 += sf;
            }

            w100 += wf;
            s100 += sf;
        }

        var n10 = Math.Min(size, Near);
        return (
            DifficultyModel.Logit((w10 + (2 * _globalWeak)) / (n10 + 2)),
            DifficultyModel.Logit((s10 + (2 * _globalStrong)) / (n10 + 2)),
            DifficultyModel.Logit((w100 + (2 * _globalWeak)) / (size + 2)),
            DifficultyModel.Logit((s100 + (2 * _globalStrong)) / (size + 2)));
    }

    /// <summary>Σ query[j] × code[j] in int32 (at most 96 × 127 × 32,767, far from overflow).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Dot(ReadOnlySpan<short> query, ReadOnlySpan<sbyte> codes)
    {
        var length = query.Length;
        var j = 0;
        var sum = 0;
        if (Avx2.IsSupported && length >= 16)
        {
            ref var q = ref MemoryMarshal.GetReference(query);
            ref var c = ref MemoryMarshal.GetReference(codes);
            var acc = Vector256<int>.Zero;
            for (; j <= length - 16; j += 16)
            {
                // Sign-extend 16 codes to int16, then multiply pairwise and add adjacent products into 8 int32 lanes.
                var widened = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref c, (nuint)j));
                acc = Avx2.Add(acc, Avx2.MultiplyAddAdjacent(widened, Vector256.LoadUnsafe(ref q, (nuint)j)));
            }

            sum = Vector256.Sum(acc);
        }

        for (; j < length; j++)
        {
            sum += query[j] * codes[j];
        }

        return sum;
    }

    private static void SiftUp(Span<int> sim, Span<int> idx, int i)
    {
        while (i > 0)
        {
            var parent = (i - 1) / 2;
            if (sim[parent] <= sim[i])
            {
                break;
            }

            (sim[parent], sim[i]) = (sim[i], sim[parent]);
            (idx[parent], idx[i]) = (idx[i], idx[parent]);
            i = parent;
        }
    }

    private static void SiftDown(Span<int> sim, Span<int> idx, int size)
    {
        var i = 0;
        while (true)
        {
            var left = (2 * i) + 1;
            var right = left + 1;
            var smallest = i;
            if (left < size && sim[left] < sim[smallest])
            {
                smallest = left;
            }

            if (right < size && sim[right] < sim[smallest])
            {
                smallest = right;
            }

            if (smallest == i)
            {
                return;
            }

            (sim[smallest], sim[i]) = (sim[i], sim[smallest]);
            (idx[smallest], idx[i]) = (idx[i], idx[smallest]);
            i = smallest;
        }
    }
}
