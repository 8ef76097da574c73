using System.Numerics.Tensors;

namespace Router.Evaluation.Training;

/// <summary>Dense linear models fitted by Newton's method with an L2 penalty (the intercept is not penalised).</summary>
internal static class LinearModels
{
    /// <summary>
    /// L2-regularised logistic regression; <paramref name="y"/> in [0,1] (soft labels allowed). Returns weights then
    /// intercept. The penalty pulls towards <paramref name="prior"/> (zero when null), so a hand-set direction survives small data.
    /// </summary>
    public static double[] FitLogistic(IReadOnlyList<double[]> x, IReadOnlyList<double> y, double l2, IReadOnlyList<double>? sampleWeight = null, int iterations = 25, double[]? prior = null)
    {
        var d = x[0].Length;
        var beta = new double[d + 1];
        var row = new double[d + 1];
        for (var iter = 0; iter < iterations; iter++)
        {
            var h = new double[d + 1][];
            for (var j = 0; j <= d; j++)
            {
                h[j] = new double[d + 1];
            }

            var g = new double[d + 1];
            for (var i = 0; i < x.Count; i++)
            {
                x[i].CopyTo(row, 0);
                row[d] = 1;
                var p = Sigmoid(TensorPrimitives.Dot<double>(row, beta));
                var sw = sampleWeight?[i] ?? 1.0;
                var w = Math.Max(p * (1 - p), 1e-6) * sw;
                TensorPrimitives.MultiplyAdd<double>(row, (p - y[i]) * sw, g, g);
                for (var j = 0; j <= d; j++)
                {
                    var span = h[j].AsSpan(j);
                    TensorPrimitives.MultiplyAdd(row.AsSpan(j), w * row[j], span, span);
                }
            }

            for (var j = 0; j < d; j++)
            {
                h[j][j] += l2;
                g[j] += l2 * (beta[j] - (prior?[j] ?? 0));
            }

            h[d][d] += 1e-8;
            var step = SolveSymmetric(h, g);
            var change = 0.0;
            for (var j = 0; j <= d; j++)
            {
                beta[j] -= step[j];
                change = Math.Max(change, Math.Abs(step[j]));
            }

            if (change < 1e-7)
            {
                break;
            }
        }

        return beta;
    }

    /// <summary>Weighted ridge regression. Returns weights then intercept.</summary>
    public static double[] FitRidge(IReadOnlyList<double[]> x, IReadOnlyList<double> y, double l2, IReadOnlyList<double>? sampleWeight = null)
    {
        var d = x[0].Length;
        var h = new double[d + 1][];
        for (var j = 0; j <= d; j++)
        {
            h[j] = new double[d + 1];
        }

        var g = new double[d + 1];
        var row = new double[d + 1];
        for (var i = 0; i < x.Count; i++)
        {
            x[i].CopyTo(row, 0);
            row[d] = 1;
            var sw = sampleWeight?[i] ?? 1.0;
            TensorPrimitives.MultiplyAdd<double>(row, y[i] * sw, g, g);
            for (var j = 0; j <= d; j++)
            {
                var span = h[j].AsSpan(j);
                TensorPrimitives.MultiplyAdd(row.AsSpan(j), sw * row[j], span, span);
            }
        }

        for (var j = 0; j < d; j++)
        {
            h[j][j] += l2;
        }

        h[d][d] += 1e-8;
        return SolveSymmetric(h, g);
    }

    public static double Predict(double[] beta, ReadOnlySpan<double> x) => TensorPrimitives.Dot(x, beta.AsSpan(0, x.Length)) + beta[^1];

    public static double Sigmoid(double z) => 1.0 / (1.0 + Math.Exp(-z));

    /// <summary>Solves H x = b for symmetric positive definite H given by its upper triangle (Cholesky).</summary>
    private static double[] SolveSymmetric(double[][] upper, double[] b)
    {
        var n = b.Length;
        var l = new double[n][];
        for (var i = 0; i < n; i++)
        {
            l[i] = new double[i + 1];
            for (var j = 0; j <= i; j++)
            {
                var sum = upper[j][i];
                for (var k = 0; k < j; k++)
                {
                    sum -= l[i][k] * l[j][k];
                }

                l[i][j] = i == j ? Math.Sqrt(Math.Max(sum, 1e-12)) : sum / l[j][j];
            }
        }

        var z = new double[n];
        for (var i = 0; i < n; i++)
        {
            var sum = b[i];
            for (var k = 0; k < i; k++)
            {
                sum -= l[i][k] * z[k];
            }

            z[i] = sum / l[i][i];
        }

        var x = new double[n];
        for (var i = n - 1; i >= 0; i--)
        {
            var sum = z[i];
            for (var k = i + 1; k < n; k++)
            {
                sum -= l[k][i] * x[k];
            }

            x[i] = sum / l[i][i];
        }

        return x;
    }
}
