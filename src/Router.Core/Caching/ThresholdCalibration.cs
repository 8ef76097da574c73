namespace Router.Core.Caching;

/// <summary>One labelled query/candidate pair as the cache would see it: similarity, guard verdict, ground truth.</summary>
/// <param name="Similarity">Cosine between the query's and the candidate's embeddings.</param>
/// <param name="GuardsAccept">Whether the semantic guards let the candidate through.</param>
/// <param name="ShouldServe">Ground truth: the cached answer may be served for the query.</param>
public readonly record struct ScoredPair(float Similarity, bool GuardsAccept, bool ShouldServe);

/// <summary>Confusion counts of the cache's serve decision at one similarity threshold.</summary>
public readonly record struct ThresholdPoint(float Threshold, int TruePositives, int FalsePositives, int FalseNegatives, int TrueNegatives)
{
    /// <summary>Share of served answers that were right to serve; 1 when nothing is served.</summary>
    public double Precision => TruePositives + FalsePositives == 0 ? 1.0 : (double)TruePositives / (TruePositives + FalsePositives);

    /// <summary>Share of servable pairs that were served.</summary>
    public double Recall => TruePositives + FalseNegatives == 0 ? 0.0 : (double)TruePositives / (TruePositives + FalseNegatives);

    /// <summary>Harmonic mean of precision and recall.</summary>
    public double F1 => Precision + Recall == 0 ? 0.0 : 2 * Precision * Recall / (Precision + Recall);

    /// <summary>Share of must-miss pairs that were served anyway.</summary>
    public double FalseServeRate => FalsePositives + TrueNegatives == 0 ? 0.0 : (double)FalsePositives / (FalsePositives + TrueNegatives);
}

/// <summary>Sweeps the similarity threshold over labelled pairs and recommends one with a safety margin.</summary>
public static class ThresholdCalibration
{
    /// <summary>Confusion counts at each threshold from <paramref name="from"/> to <paramref name="to"/> (inclusive).</summary>
    /// <param name="pairs">Labelled pairs.</param>
    /// <param name="useGuards">Whether a hit also needs the guards' approval.</param>
    /// <param name="from">Lowest threshold.</param>
    /// <param name="to">Highest threshold.</param>
    /// <param name="step">Increment between thresholds.</param>
    public static IReadOnlyList<ThresholdPoint> Sweep(IReadOnlyList<ScoredPair> pairs, bool useGuards, float from = 0.70f, float to = 0.99f, float step = 0.01f)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(step);
        var points = new List<ThresholdPoint>();
        var steps = (int)Math.Round((to - from) / step);
        for (var k = 0; k <= steps; k++)
        {
            points.Add(Evaluate(pairs, useGuards, MathF.Round(from + (k * step), 4)));
        }

        return points;
    }

    /// <summary>Confusion counts at one threshold: a pair is served when its similarity reaches it (and guards accept).</summary>
    public static ThresholdPoint Evaluate(IReadOnlyList<ScoredPair> pairs, bool useGuards, float threshold)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        int tp = 0, fp = 0, fn = 0, tn = 0;
        foreach (var p in pairs)
        {
            var served = p.Similarity >= threshold && (!useGuards || p.GuardsAccept);
            if (served && p.ShouldServe)
            {
                tp++;
            }
            else if (served)
            {
                fp++;
            }
            else if (p.ShouldServe)
            {
                fn++;
            }
            else
            {
                tn++;
            }
        }

        return new ThresholdPoint(threshold, tp, fp, fn, tn);
    }

    /// <summary>The lowest swept threshold from which precision stays at or above <paramref name="targetPrecision"/> for
    /// every higher threshold, raised by <paramref name="margin"/> so that it holds on data not seen here; null if none.</summary>
    public static float? Recommend(IReadOnlyList<ThresholdPoint> sweep, double targetPrecision, float margin)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        float? lowest = null;
        for (var k = sweep.Count - 1; k >= 0; k--)
        {
            if (sweep[k].Precision < targetPrecision)
            {
                break;
            }

            lowest = sweep[k].Threshold;
        }

        return lowest is null ? null : MathF.Min(lowest.Value + margin, sweep[^1].Threshold);
    }
}
