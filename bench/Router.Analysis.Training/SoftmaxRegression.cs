using Router.Core.Analysis;

namespace Router.Analysis.Training;

/// <summary>Multinomial logistic regression with standardised inputs, L2 penalty and balanced class weights, fitted by full-batch Adam. Deterministic.</summary>
internal static class SoftmaxRegression
{
    public static LinearLayerFile Fit(IReadOnlyList<float[]> inputs, IReadOnlyList<int> labels, int classes, double l2, int iterations = 600, double learningRate = 0.05, Func<int, float>? inputBoost = null)
    {
        var n = inputs.Count;
        var d = inputs[0].Length;
        var mean = new float[d];
        var scale = new float[d];
        for (var j = 0; j < d; j++)
        {
            double sum = 0, sq = 0;
            for (var i = 0; i < n; i++)
            {
                sum += inputs[i][j];
            }

            var m = sum / n;
            for (var i = 0; i < n; i++)
            {
                var diff = inputs[i][j] - m;
                sq += diff * diff;
            }

            mean[j] = (float)m;
            var sd = Math.Sqrt(sq / n);
            scale[j] = sd < 1e-6 ? 0f : (float)sd / (inputBoost?.Invoke(j) ?? 1f);
        }

        var x = new double[n][];
        for (var i = 0; i < n; i++)
        {
            x[i] = new double[d];
            for (var j = 0; j < d; j++)
            {
                x[i][j] = scale[j] == 0 ? 0 : (inputs[i][j] - mean[j]) / scale[j];
            }
        }

        var counts = new int[classes];
        foreach (var y in labels)
        {
            counts[y]++;
        }

        var present = counts.Count(c => c > 0);
        var classWeight = counts.Select(c => c == 0 ? 0 : (double)n / (present * c)).ToArray();

        var w = new double[classes, d];
        var b = new double[classes];
        var mw = new double[classes, d];
        var vw = new double[classes, d];
        var mb = new double[classes];
        var vb = new double[classes];
        const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        var logits = new double[classes];
        var gw = new double[classes, d];
        var gb = new double[classes];
        var totalWeight = labels.Sum(y => classWeight[y]);
        for (var iteration = 1; iteration <= iterations; iteration++)
        {
            Array.Clear(gw);
            Array.Clear(gb);
            for (var i = 0; i < n; i++)
            {
                var max = double.NegativeInfinity;
                for (var c = 0; c < classes; c++)
                {
                    var z = b[c];
                    var xi = x[i];
                    for (var j = 0; j < d; j++)
                    {
                        z += w[c, j] * xi[j];
                    }

                    logits[c] = z;
                    max = Math.Max(max, z);
                }

                double sum = 0;
                for (var c = 0; c < classes; c++)
                {
                    logits[c] = Math.Exp(logits[c] - max);
                    sum += logits[c];
                }

                var weight = classWeight[labels[i]] / totalWeight;
                for (var c = 0; c < classes; c++)
                {
                    var g = ((logits[c] / sum) - (c == labels[i] ? 1 : 0)) * weight;
                    gb[c] += g;
                    var xi = x[i];
                    for (var j = 0; j < d; j++)
                    {
                        gw[c, j] += g * xi[j];
                    }
                }
            }

            var lr = learningRate;
            var c1 = 1 - Math.Pow(beta1, iteration);
            var c2 = 1 - Math.Pow(beta2, iteration);
            for (var c = 0; c < classes; c++)
            {
                for (var j = 0; j < d; j++)
                {
                    var g = gw[c, j] + (l2 * w[c, j]);
                    mw[c, j] = (beta1 * mw[c, j]) + ((1 - beta1) * g);
                    vw[c, j] = (beta2 * vw[c, j]) + ((1 - beta2) * g * g);
                    w[c, j] -= lr * (mw[c, j] / c1) / (Math.Sqrt(vw[c, j] / c2) + eps);
                }

                mb[c] = (beta1 * mb[c]) + ((1 - beta1) * gb[c]);
                vb[c] = (beta2 * vb[c]) + ((1 - beta2) * gb[c] * gb[c]);
                b[c] -= lr * (mb[c] / c1) / (Math.Sqrt(vb[c] / c2) + eps);
            }
        }

        var weights = new float[classes][];
        for (var c = 0; c < classes; c++)
        {
            weights[c] = new float[d];
            for (var j = 0; j < d; j++)
            {
                weights[c][j] = (float)Math.Round(w[c, j], 5);
            }
        }

        return new LinearLayerFile
        {
            Mean = [.. mean.Select(v => (float)Math.Round(v, 6))],
            Scale = [.. scale.Select(v => (float)Math.Round(v, 6))],
            Weights = weights,
            Bias = [.. b.Select(v => (float)Math.Round(v, 5))],
        };
    }
}
