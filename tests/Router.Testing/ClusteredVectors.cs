using System.Numerics.Tensors;

namespace Router.Testing;

/// <summary>Deterministic embedding-like test vectors: unit-length gaussians scattered around random cluster centres,
/// so neighbours are as crowded as in a real prompt cache (same-topic prompts share a cluster).</summary>
public sealed class ClusteredVectors
{
    private readonly Random _random;
    private readonly float[][] _centres;
    private readonly int _dimensions;
    private readonly float _spread;

    /// <param name="dimensions">Vector width.</param>
    /// <param name="clusters">Number of cluster centres.</param>
    /// <param name="spread">Per-dimension noise relative to a centre's per-dimension scale; 1 gives members a cosine of
    /// about 0.7 to their centre and 0.5 to each other, as same-topic prompts have.</param>
    /// <param name="seed">Seed, so every run sees the same vectors.</param>
    public ClusteredVectors(int dimensions, int clusters, float spread = 1.0f, int seed = 42)
    {
        _random = new Random(seed);
        _dimensions = dimensions;
        _spread = spread;
        _centres = new float[clusters][];
        for (var c = 0; c < clusters; c++)
        {
            _centres[c] = Gaussian(1f);
        }
    }

    /// <summary>A fresh member of a random cluster, unit length.</summary>
    public float[] Next()
    {
        var centre = _centres[_random.Next(_centres.Length)];
        var v = Gaussian(_spread);
        TensorPrimitives.Add(v, centre, v);
        return Normalised(v);
    }

    /// <summary>A perturbed copy of <paramref name="of"/> at cosine ≈ <paramref name="cosine"/>: a paraphrase.</summary>
    public float[] Near(ReadOnlySpan<float> of, float cosine)
    {
        // For a unit vector u and independent noise n of norm r, cos(u, u + n) ≈ 1 / sqrt(1 + r²).
        var r = MathF.Sqrt((1f / (cosine * cosine)) - 1f);
        var noise = Gaussian(r / MathF.Sqrt(_dimensions));
        TensorPrimitives.Add(noise, of, noise);
        return Normalised(noise);
    }

    /// <summary>A uniformly random unit vector, unrelated to any cluster.</summary>
    public float[] Random() => Normalised(Gaussian(1f));

    private float[] Gaussian(float scale)
    {
        var v = new float[_dimensions];
        for (var i = 0; i < v.Length; i++)
        {
            var u1 = 1.0 - _random.NextDouble();
            var u2 = _random.NextDouble();
            v[i] = scale * (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
        }

        return v;
    }

    private static float[] Normalised(float[] v)
    {
        TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
        return v;
    }
}
