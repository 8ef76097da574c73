using ScottPlot;
using Router.Evaluation.Metrics;

namespace Router.Evaluation.Routing;

/// <summary>Quality (as a share of the strong model's on the same rows) against strong-call share and against cost for one file, every fold's report half, with the
/// all-strong, all-weak and random baselines and the knob sweep's points.</summary>
internal static class RoutingChart
{
    private const int MaxPoints = 300;

    public static IReadOnlyList<string> Write(string directory, string stem, IReadOnlyList<FoldReport> folds)
    {
        var byShare = new Plot();
        var byCost = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var colour = 0;
        foreach (var fold in folds)
        {
            foreach (var (name, curve) in fold.Curves)
            {
                var c = palette.GetColor(colour++);
                var points = Thin(curve.Points);
                var relative = points.Select(p => p.Quality / curve.StrongQuality * 100).ToArray();
                var share = byShare.Add.ScatterLine(points.Select(p => p.StrongShare * 100).ToArray(), relative);
                share.LegendText = $"{name}, fold {fold.Fold}";
                share.Color = c;
                share.LineWidth = 2;
                var cost = byCost.Add.ScatterLine(points.Select(p => p.CostUsd / curve.StrongCost * 100).ToArray(), relative);
                cost.LegendText = share.LegendText;
                cost.Color = c;
                cost.LineWidth = 2;
            }

            var knobs = byShare.Add.ScatterPoints(fold.Sweep.Select(k => k.StrongShare * 100).ToArray(), fold.Sweep.Select(k => k.QualityOfStrong * 100).ToArray());
            knobs.LegendText = $"knob 0, 0.05, …, 1 (fold {fold.Fold})";
            knobs.MarkerSize = 6;
            knobs.Color = Colors.Black;
            var knobCost = byCost.Add.ScatterPoints(fold.Sweep.Select(k => (1 - k.Saving) * 100).ToArray(), fold.Sweep.Select(k => k.QualityOfStrong * 100).ToArray());
            knobCost.LegendText = knobs.LegendText;
            knobCost.MarkerSize = 6;
            knobCost.Color = Colors.Black;
        }

        var first = folds[0];
        const double strongQ = 100;
        var weakQ = folds.Average(f => f.WeakQuality / f.StrongQuality) * 100;
        var weakCost = folds.Average(f => f.WeakCostUsd / f.StrongCostUsd) * 100;
        foreach (var (plot, weakX) in new[] { (byShare, 0.0), (byCost, weakCost) })
        {
            var random = plot.Add.ScatterLine(new[] { weakX, 100 }, new[] { weakQ, strongQ });
            random.LegendText = "random (expected)";
            random.LinePattern = LinePattern.Dashed;
            random.Color = Colors.Gray;
            var strong = plot.Add.Marker(100, strongQ, MarkerShape.FilledSquare, 12, Colors.Red);
            strong.LegendText = "all strong";
            var weak = plot.Add.Marker(weakX, weakQ, MarkerShape.FilledSquare, 12, Colors.Green);
            weak.LegendText = "all weak";
            var target = plot.Add.HorizontalLine(strongQ * 0.95);
            target.LegendText = "95% of strong quality";
            target.LinePattern = LinePattern.Dotted;
            target.Color = Colors.Orange;
            plot.YLabel("quality (% of all-strong)");
            plot.ShowLegend(Alignment.LowerRight);
            plot.Title($"{first.File}: held-out halves");
        }

        byShare.XLabel("strong-model calls (%)");
        byCost.XLabel("cost (% of all-strong)");
        Directory.CreateDirectory(directory);
        var quality = Path.Combine(directory, stem + "-quality.png");
        var costPath = Path.Combine(directory, stem + "-cost.png");
        byShare.SavePng(quality, 900, 560);
        byCost.SavePng(costPath, 900, 560);
        return [quality, costPath];
    }

    private static List<CurvePoint> Thin(IReadOnlyList<CurvePoint> points)
    {
        if (points.Count <= MaxPoints)
        {
            return [.. points];
        }

        var step = (points.Count - 1) / (double)(MaxPoints - 1);
        return [.. Enumerable.Range(0, MaxPoints).Select(i => points[(int)Math.Round(i * step)])];
    }
}
