using System.Numerics.Tensors;

namespace Router.Core.Analysis;

/// <summary>
/// Similar training prompts and how both models did on them (RouteLLM's similarity-weighted idea, compressed):
/// embeddings are centred, projected to a few principal directions and stored as int8, outcomes as bytes.
/// Returns the failure rates of the 10 and the 100 nearest exemplars as log-odds.
/// </summary>
internal sealed class ExemplarIndex
{
    public const int Near = 10;
    public const int Far = 100;

    private readonly int _inputDimensions;
    private readonly int _dimensions;
    private readonly float[] _mean;
    private readonly float[] _projection;
    private readonly float[] _bank;
    private readonly byte[] _weakFail;
    private readonly byte[] _strongFail;
    private readonly double _globalWeak;
    private readonly double _globalStrong;

    public ExemplarIndex(int inputDimensions, int dimensions, float[] mean, float[] projection, float[] bank, byte[] weakFail, byte[] strongFail)
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
        var bank = new float[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            bank[i] = (sbyte)bytes[i] / 127f;
        }

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
        Span<float> heapSim = stackalloc float[Far];
        Span<int> heapIdx = stackalloc int[Far];
        var size = 0;
        var bank = _bank.AsSpan();
        for (var e = 0; e < Count; e++)
        {
            if (exclude is not null && exclude(e))
            {
                continue;
            }

            var s = TensorPrimitives.Dot(projected, bank.Slice(e * _dimensions, _dimensions));
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

        // Order the kept neighbours by similarity, most similar first.
        Span<int> order = stackalloc int[size];
        for (var k = 0; k < size; k++)
        {
            order[k] = k;
        }

        var sims = heapSim[..size].ToArray();
        order.Sort((a, b) => sims[b].CompareTo(sims[a]));
        double w10 = 0, s10 = 0, w100 = 0, s100 = 0;
        for (var k = 0; k < size; k++)
        {
            var e = heapIdx[order[k]];
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

    private static void SiftUp(Span<float> sim, Span<int> idx, int i)
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

    private static void SiftDown(Span<float> sim, Span<int> idx, int size)
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
