namespace Router.Evaluation.Metrics;

/// <summary>One operating point: the share of prompts sent to the strong model, mean quality and total cost.</summary>
internal readonly record struct CurvePoint(double StrongShare, double Quality, double CostUsd);

/// <summary>
/// Quality and cost of routing the highest-scored prompts to the strong model, at every threshold. Prompts with equal
/// scores are one block: between blocks the curve is linear, which is the expectation under a random tie-break.
/// </summary>
internal sealed class RoutingCurve
{
    private readonly IReadOnlyList<double> _scores;
    private readonly IReadOnlyList<double> _strongQuality;
    private readonly IReadOnlyList<double> _weakQuality;

    private RoutingCurve(List<CurvePoint> points, IReadOnlyList<double> scores, IReadOnlyList<double> strongQuality, IReadOnlyList<double> weakQuality, double weakCost, double strongCost)
    {
        _scores = scores;
        _strongQuality = strongQuality;
        _weakQuality = weakQuality;
        WeakQuality = Format.Mean([.. weakQuality]);
        StrongQuality = Format.Mean([.. strongQuality]);
        Points = points;
        WeakCost = weakCost;
        StrongCost = strongCost;
    }

    public IReadOnlyList<CurvePoint> Points { get; }

    public double WeakQuality { get; }

    public double StrongQuality { get; }

    public double WeakCost { get; }

    public double StrongCost { get; }

    /// <summary>The curve over the given prompts; with none, one point whose quality is NaN.</summary>
    /// <param name="scores">Higher means send to the strong model first.</param>
    /// <param name="strongQuality">Quality of the strong model's answer per prompt.</param>
    /// <param name="weakQuality">Quality of the weak model's answer per prompt.</param>
    /// <param name="strongCost">Cost in USD of the strong model per prompt.</param>
    /// <param name="weakCost">Cost in USD of the weak model per prompt.</param>
    public static RoutingCurve Compute(IReadOnlyList<double> scores, IReadOnlyList<double> strongQuality, IReadOnlyList<double> weakQuality, IReadOnlyList<double> strongCost, IReadOnlyList<double> weakCost)
    {
        var n = scores.Count;
        var order = Enumerable.Range(0, n).OrderByDescending(i => scores[i]).ToArray();
        var quality = weakQuality.Sum();
        var cost = weakCost.Sum();
        var points = new List<CurvePoint>(n + 1) { new(0, quality / n, cost) };
        for (var k = 0; k < n;)
        {
            var s = scores[order[k]];
            while (k < n && scores[order[k]] == s)
            {
                var i = order[k];
                quality += strongQuality[i] - weakQuality[i];
                cost += strongCost[i] - weakCost[i];
                k++;
            }

            points.Add(new CurvePoint((double)k / n, quality / n, cost));
        }

        return new RoutingCurve(points, scores, strongQuality, weakQuality, weakCost.Sum(), strongCost.Sum());
    }

    /// <summary>Quality at a given strong share, interpolating between threshold blocks.</summary>
    public double QualityAt(double share) => Interpolate(share, p => p.Quality);

    public double CostAt(double share) => Interpolate(share, p => p.CostUsd);

    /// <summary>Smallest strong share whose quality reaches <paramref name="target"/>, or null when none does.</summary>
    public double? ShareForQuality(double target)
    {
        if (Points[0].Quality >= target)
        {
            return 0;
        }

        for (var k = 1; k < Points.Count; k++)
        {
            var a = Points[k - 1];
            var b = Points[k];
            if (b.Quality >= target)
            {
                var t = b.Quality == a.Quality ? 1 : (target - a.Quality) / (b.Quality - a.Quality);
                return a.StrongShare + (t * (b.StrongShare - a.StrongShare));
            }
        }

        return null;
    }

    /// <summary>Area under performance-gap-recovered against strong share, over [0,1] (RouteLLM's APGR, exact); NaN
    /// when there is no gap to recover (no prompts, or both models equally good on them).</summary>
    public double Apgr()
    {
        var gap = StrongQuality - WeakQuality;
        if (!(gap != 0 && double.IsFinite(gap)))
        {
            return double.NaN;
        }

        var area = 0.0;
        for (var k = 1; k < Points.Count; k++)
        {
            var a = Points[k - 1];
            var b = Points[k];
            area += (b.StrongShare - a.StrongShare) * ((a.Quality + b.Quality) / 2 - WeakQuality) / gap;
        }

        return area;
    }

    /// <summary>
    /// APGR as RouteLLM's evaluation computes it: thresholds at the 11 deciles of the scores (0%, 10%, …, 100%, linear
    /// interpolation), strong when score ≥ threshold (&gt; at the last one), then the trapezoid area of quality against
    /// strong share, minus the weak model's area, over the strong model's minus the weak model's area on the same range.
    /// NaN when that is undefined: no prompts, no gap between the models, or every threshold choosing the same prompts.
    /// </summary>
    public double ApgrRouteLlm()
    {
        var n = _scores.Count;
        var gap = StrongQuality - WeakQuality;
        if (n == 0 || !(gap != 0 && double.IsFinite(gap)))
        {
            return double.NaN;
        }

        var sorted = _scores.OrderBy(s => s).ToArray();
        var points = new List<(double Share, double Quality)>();
        for (var k = 0; k <= 10; k++)
        {
            var position = k / 10.0 * (n - 1);
            var lo = (int)Math.Floor(position);
            var hi = Math.Min(lo + 1, n - 1);
            var edge = sorted[lo] + ((position - lo) * (sorted[hi] - sorted[lo]));
            double quality = 0;
            var strong = 0;
            for (var i = 0; i < n; i++)
            {
                var chosen = k < 10 ? _scores[i] >= edge : _scores[i] > edge;
                quality += chosen ? _strongQuality[i] : _weakQuality[i];
                strong += chosen ? 1 : 0;
            }

            points.Add(((double)strong / n, quality / n));
        }

        points.Sort((a, b) => a.Share.CompareTo(b.Share));
        double area = 0, range = 0;
        for (var k = 1; k < points.Count; k++)
        {
            var width = points[k].Share - points[k - 1].Share;
            area += width * (points[k].Quality + points[k - 1].Quality) / 2;
            range += width;
        }

        return range == 0 ? double.NaN : (area - (WeakQuality * range)) / (gap * range);
    }

    private double Interpolate(double share, Func<CurvePoint, double> value)
    {
        for (var k = 1; k < Points.Count; k++)
        {
            var a = Points[k - 1];
            var b = Points[k];
            if (share <= b.StrongShare)
            {
                var t = b.StrongShare == a.StrongShare ? 1 : (share - a.StrongShare) / (b.StrongShare - a.StrongShare);
                return value(a) + (t * (value(b) - value(a)));
            }
        }

        return value(Points[^1]);
    }
}

/// <summary>Area under the ROC curve with ties counted half (Mann–Whitney); NaN when one class is absent.</summary>
internal static class Auc
{
    public static double Compute(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        double rankSumPositive = 0;
        long positives = 0;
        for (var k = 0; k < order.Length;)
        {
            var j = k;
            while (j < order.Length && scores[order[j]] == scores[order[k]])
            {
                j++;
            }

            var averageRank = ((k + 1) + j) / 2.0;
            for (var m = k; m < j; m++)
            {
                if (labels[order[m]])
                {
                    rankSumPositive += averageRank;
                    positives++;
                }
            }

            k = j;
        }

        var negatives = scores.Count - positives;
        return positives == 0 || negatives == 0 ? double.NaN : (rankSumPositive - (positives * (positives + 1) / 2.0)) / (positives * (double)negatives);
    }

    /// <summary>Spearman rank correlation with average ranks for ties; NaN for fewer than two pairs or a constant side.</summary>
    public static double Spearman(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count < 2 || a.Count != b.Count)
        {
            return double.NaN;
        }

        var ra = Ranks(a);
        var rb = Ranks(b);
        var ma = ra.Average();
        var mb = rb.Average();
        double num = 0, da = 0, db = 0;
        for (var i = 0; i < ra.Length; i++)
        {
            num += (ra[i] - ma) * (rb[i] - mb);
            da += (ra[i] - ma) * (ra[i] - ma);
            db += (rb[i] - mb) * (rb[i] - mb);
        }

        return da == 0 || db == 0 ? double.NaN : num / Math.Sqrt(da * db);
    }

    private static double[] Ranks(IReadOnlyList<double> v)
    {
        var order = Enumerable.Range(0, v.Count).OrderBy(i => v[i]).ToArray();
        var ranks = new double[v.Count];
        for (var k = 0; k < order.Length;)
        {
            var j = k;
            while (j < order.Length && v[order[j]] == v[order[k]])
            {
                j++;
            }

            for (var m = k; m < j; m++)
            {
                ranks[order[m]] = (k + j - 1) / 2.0;
            }

            k = j;
        }

        return ranks;
    }
}
