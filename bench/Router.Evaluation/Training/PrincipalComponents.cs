using System.Numerics.Tensors;

namespace Router.Evaluation.Training;

/// <summary>Leading principal directions of a set of vectors, by subspace iteration on the covariance.</summary>
internal static class PrincipalComponents
{
    /// <summary>Returns the mean and a row-major (input dimension × <paramref name="components"/>) projection.</summary>
    public static (float[] Mean, float[] Projection) Fit(IReadOnlyList<float[]> x, int components, int iterations = 40, int seed = 11)
    {
        var d = x[0].Length;
        var mean = new double[d];
        foreach (var v in x)
        {
            for (var j = 0; j < d; j++)
            {
                mean[j] += v[j];
            }
        }

        for (var j = 0; j < d; j++)
        {
            mean[j] /= x.Count;
        }

        var cov = new double[d * d];
        var c = new double[d];
        foreach (var v in x)
        {
            for (var j = 0; j < d; j++)
            {
                c[j] = v[j] - mean[j];
            }

            for (var j = 0; j < d; j++)
            {
                TensorPrimitives.MultiplyAdd(c, c[j], cov.AsSpan(j * d, d), cov.AsSpan(j * d, d));
            }
        }

        // Subspace iteration: Q ← orth(C Q).
        var rng = new Random(seed);
        var q = new double[components][];
        for (var k = 0; k < components; k++)
        {
            q[k] = [.. Enumerable.Range(0, d).Select(_ => rng.NextDouble() - 0.5)];
        }

        Orthonormalise(q);
        for (var it = 0; it < iterations; it++)
        {
            for (var k = 0; k < components; k++)
            {
                var z = new double[d];
                for (var j = 0; j < d; j++)
                {
                    z[j] = TensorPrimitives.Dot<double>(cov.AsSpan(j * d, d), q[k]);
                }

                q[k] = z;
            }

            Orthonormalise(q);
        }

        var projection = new float[d * components];
        for (var j = 0; j < d; j++)
        {
            for (var k = 0; k < components; k++)
            {
                projection[(j * components) + k] = (float)q[k][j];
            }
        }

        return ([.. mean.Select(m => (float)m)], projection);
    }

    private static void Orthonormalise(double[][] q)
    {
        for (var k = 0; k < q.Length; k++)
        {
            for (var m = 0; m < k; m++)
            {
                var dot = TensorPrimitives.Dot<double>(q[k], q[m]);
                TensorPrimitives.MultiplyAdd<double>(q[m], -dot, q[k], q[k]);
            }

            // Fewer distinct points than components leaves some directions empty: they stay zero (project to 0).
            var norm = TensorPrimitives.Norm<double>(q[k]);
            if (norm > 1e-12)
            {
                TensorPrimitives.Divide<double>(q[k], norm, q[k]);
            }
            else
            {
                Array.Clear(q[k]);
            }
        }
    }
}
