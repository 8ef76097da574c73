using Router.Core.Analysis;

namespace Router.Analysis.Training;

/// <summary>Softmax regression over binary, length-normalised sparse inputs (hashed buckets), balanced class weights, Adam with lazy L2.</summary>
internal static class SparseSoftmaxRegression
{
    public static LinearLayerFile Fit(IReadOnlyList<int[]> rows, IReadOnlyList<int> labels, int classes, int dimensions, double l2, int iterations, double learningRate = 0.05)
    {
        var n = rows.Count;
        var counts = new int[classes];
        foreach (var y in labels)
        {
            counts[y]++;
        }

        var present = counts.Count(c => c > 0);
        var classWeight = counts.Select(c => c == 0 ? 0 : (double)n / (present * c)).ToArray();
        var totalWeight = labels.Sum(y => classWeight[y]);
        var w = new double[classes * dimensions];
        var b = new double[classes];
        var m = new double[w.Length];
        var v = new double[w.Length];
        var mb = new double[classes];
        var vb = new double[classes];
        var g = new double[w.Length];
        var gb = new double[classes];
        var p = new double[classes];
        const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        for (var iteration = 1; iteration <= iterations; iteration++)
        {
            Array.Clear(g);
            Array.Clear(gb);
            for (var i = 0; i < n; i++)
            {
                var row = rows[i];
                var norm = row.Length == 0 ? 0 : 1.0 / Math.Sqrt(row.Length);
                var max = double.NegativeInfinity;
                for (var c = 0; c < classes; c++)
                {
                    var z = b[c];
                    foreach (var j in row)
                    {
                        z += w[(c * dimensions) + j] * norm;
                    }

                    p[c] = z;
                    max = Math.Max(max, z);
                }

                double sum = 0;
                for (var c = 0; c < classes; c++)
                {
                    p[c] = Math.Exp(p[c] - max);
                    sum += p[c];
                }

                var weight = classWeight[labels[i]] / totalWeight;
                for (var c = 0; c < classes; c++)
                {
                    var d = ((p[c] / sum) - (c == labels[i] ? 1 : 0)) * weight;
                    gb[c] += d;
                    foreach (var j in row)
                    {
                        g[(c * dimensions) + j] += d * norm;
                    }
                }
            }

            var c1 = 1 - Math.Pow(beta1, iteration);
            var c2 = 1 - Math.Pow(beta2, iteration);
            for (var k = 0; k < w.Length; k++)
            {
                var grad = g[k] + (l2 * w[k]);
                m[k] = (beta1 * m[k]) + ((1 - beta1) * grad);
                v[k] = (beta2 * v[k]) + ((1 - beta2) * grad * grad);
                w[k] -= learningRate * (m[k] / c1) / (Math.Sqrt(v[k] / c2) + eps);
            }

            for (var c = 0; c < classes; c++)
            {
                mb[c] = (beta1 * mb[c]) + ((1 - beta1) * gb[c]);
                vb[c] = (beta2 * vb[c]) + ((1 - beta2) * gb[c] * gb[c]);
                b[c] -= learningRate * (mb[c] / c1) / (Math.Sqrt(vb[c] / c2) + eps);
            }
        }

        var weights = new float[classes][];
        for (var c = 0; c < classes; c++)
        {
            weights[c] = new float[dimensions];
            for (var j = 0; j < dimensions; j++)
            {
                weights[c][j] = (float)Math.Round(w[(c * dimensions) + j], 3);
            }
        }

        return new LinearLayerFile { Weights = weights, Bias = [.. b.Select(x => (float)Math.Round(x, 4))] };
    }
}
