using System.Numerics.Tensors;

namespace Router.Evaluation.Training;

/// <summary>k-means on unit vectors with cosine similarity (centroids re-normalised each round), seeded deterministically.</summary>
internal static class SphericalKMeans
{
    public static float[][] Fit(IReadOnlyList<float[]> points, int k, int iterations, int seed)
    {
        var rng = new Random(seed);
        var d = points[0].Length;
        k = Math.Min(k, points.Count);

        // k-means++ style seeding on 1 - cosine.
        var centroids = new List<float[]> { (float[])points[rng.Next(points.Count)].Clone() };
        var best = points.Select(p => 1 - TensorPrimitives.Dot<float>(p, centroids[0])).ToArray();
        while (centroids.Count < k)
        {
            var total = best.Sum(v => Math.Max(v, 0));
            var r = rng.NextDouble() * total;
            var pick = 0;
            for (var acc = 0.0; pick < points.Count - 1; pick++)
            {
                acc += Math.Max(best[pick], 0);
                if (acc >= r)
                {
                    break;
                }
            }

            var c = (float[])points[pick].Clone();
            centroids.Add(c);
            for (var i = 0; i < points.Count; i++)
            {
                best[i] = Math.Min(best[i], 1 - TensorPrimitives.Dot<float>(points[i], c));
            }
        }

        var assign = new int[points.Count];
        for (var iter = 0; iter < iterations; iter++)
        {
            Parallel.For(0, points.Count, new ParallelOptions { MaxDegreeOfParallelism = 1 }, i => assign[i] = Nearest(points[i], centroids));
            var sums = new float[k][];
            for (var c = 0; c < k; c++)
            {
                sums[c] = new float[d];
            }

            for (var i = 0; i < points.Count; i++)
            {
                TensorPrimitives.Add(sums[assign[i]], points[i], sums[assign[i]]);
            }

            for (var c = 0; c < k; c++)
            {
                var norm = TensorPrimitives.Norm<float>(sums[c]);
                if (norm > 0)
                {
                    TensorPrimitives.Divide(sums[c], norm, sums[c]);
                    centroids[c] = sums[c];
                }
            }
        }

        return [.. centroids];
    }

    public static int Nearest(float[] p, IReadOnlyList<float[]> centroids)
    {
        var best = 0;
        var bestSim = float.MinValue;
        for (var c = 0; c < centroids.Count; c++)
        {
            var s = TensorPrimitives.Dot<float>(p, centroids[c]);
            if (s > bestSim)
            {
                bestSim = s;
                best = c;
            }
        }

        return best;
    }
}
