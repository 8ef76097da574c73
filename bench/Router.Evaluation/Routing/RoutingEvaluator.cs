using Router.Core.Analysis;
using Router.Evaluation.Metrics;

namespace Router.Evaluation.Routing;

/// <summary>Quality, cost and strong-call share at one operating point.</summary>
internal sealed record OperatingPoint(double Knob, double StrongShare, double Quality, double QualityOfStrong, double CostUsd, double Saving);

/// <summary>Strong-call share and cost saving needed to reach a share of the strong model's quality.</summary>
internal sealed record TargetPoint(double Target, double? StrongShare, double? Saving);

/// <summary>How one routing policy did on a report half.</summary>
internal sealed record PolicyResult(string Policy, double ApgrRouteLlm, double ApgrExact, IReadOnlyList<TargetPoint> Targets);

/// <summary>Everything measured on one file's report half for one fold.</summary>
internal sealed record FoldReport(
    string File,
    int Fold,
    int FitRows,
    int ReportRows,
    double StrongQuality,
    double WeakQuality,
    double StrongCostUsd,
    double WeakCostUsd,
    double ComplexityAuc,
    double ComplexityLevelAuc,
    double FastComplexityAuc,
    double WeakOnlyFailureAuc,
    int AlwaysPremium,
    int RiskFloored,
    IReadOnlyDictionary<string, int> RiskCategories,
    IReadOnlyDictionary<string, int> Tasks,
    IReadOnlyList<PolicyResult> Policies,
    IReadOnlyList<OperatingPoint> Sweep,
    OperatingPoint? FitHalfKnob95,
    string Provenance)
{
    /// <summary>Curves for the charts (not serialised).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyList<(string Name, RoutingCurve Curve)> Curves { get; init; } = [];
}

/// <summary>
/// Routes every prompt of the report half through the router (analysis, then the routing table under the per-request
/// knob) and measures quality against cost. The difficulty model is retrained on the fit halves for every fold, so
/// nothing reported was fitted on the rows it is reported on.
/// </summary>
internal sealed class RoutingEvaluator(Workbench bench)
{
    public static readonly double[] Targets = [0.90, 0.95, 0.99];

    public FoldReport Evaluate(string file, int fold)
    {
        var log = bench.Log;
        var data = bench.Load(file);
        var (fit, report) = data.Split(fold);
        var trained = bench.Train(file, fold);
        var model = trained.Trained.Model;
        using var harness = new RouterHarness(new ComplexityEstimator(model), bench.Settings.Pair);
        log.WriteLine($"{data.Name} fold {fold}: analysing and routing {report.Count} report rows{(report.Count == 0 ? " (none: this fold's metrics are n/a)" : "")}");

        var rows = report.Select(i => harness.Analyse(data.Rows[i], data.Requests[i], data.Embeddings[i])).ToList();
        var fast = report.Select(i => harness.Analyse(data.Rows[i], data.Requests[i], default)).ToList();
        var knobFull = rows.Select(r => harness.PremiumFromKnob(r)).ToArray();
        var knobFast = rows.Select((r, i) => harness.PremiumFromKnob(r, fast[i].Profile)).ToArray();

        var sq = rows.Select(r => r.Row.Strong.Quality).ToArray();
        var wq = rows.Select(r => r.Row.Weak.Quality).ToArray();
        var sc = rows.Select(r => r.StrongCost).ToArray();
        var wc = rows.Select(r => r.WeakCost).ToArray();
        var labels = rows.Select(r => r.WeakFailsStrongSucceeds).ToList();

        // The knob sweep, through the request body exactly as a client sets it.
        var sweep = new List<OperatingPoint>();
        HashSet<int>? previous = null;
        for (var k = 0; k <= 20; k++)
        {
            var q = k / 20.0;
            var premium = new HashSet<int>();
            for (var i = 0; i < rows.Count; i++)
            {
                var chosen = harness.PremiumAtKnob(rows[i], q);
                if (chosen != q >= knobFull[i] && Math.Abs(q - knobFull[i]) > 1e-6)
                {
                    throw new InvalidOperationException($"{rows[i].Row.Id}: the decision at knob {q} disagrees with its knob threshold {knobFull[i]}.");
                }

                if (chosen)
                {
                    premium.Add(i);
                }
            }

            if (previous is not null && !previous.IsSubsetOf(premium))
            {
                throw new InvalidOperationException($"{data.Name}: raising the knob to {q} moved requests from premium to economy.");
            }

            previous = premium;
            sweep.Add(Point(q, premium, sq, wq, sc, wc));
        }

        var curves = new List<(string, RoutingCurve)>
        {
            ("router (embedding)", RoutingCurve.Compute([.. knobFull.Select(v => -v)], sq, wq, sc, wc)),
            ("router fast path (no embedding)", RoutingCurve.Compute([.. knobFast.Select(v => -v)], sq, wq, sc, wc)),
        };
        var policies = curves.Select(c => Policy(c.Item1, c.Item2)).ToList();

        // Diagnostics: the same router with the risk floors off, and the estimator's score alone (no table, no floors).
        using (var noFloors = new RouterHarness(new ComplexityEstimator(model), bench.Settings.Pair, [
            new("Router:Routing:MediumRiskMinimumTier", "Economy"), new("Router:Routing:HighRiskMinimumTier", "Economy")]))
        {
            var knobNoFloors = rows.Select(r => noFloors.PremiumFromKnob(r)).ToArray();
            policies.Add(Policy("router, risk floors off (diagnostic)", RoutingCurve.Compute([.. knobNoFloors.Select(v => -v)], sq, wq, sc, wc)));
        }

        policies.Add(Policy("complexity score alone (no table)", RoutingCurve.Compute([.. rows.Select(r => r.Profile.ComplexityScore ?? 0)], sq, wq, sc, wc)));
        policies.Add(Policy("P(weak fails)·P(strong succeeds) alone (diagnostic)", RoutingCurve.Compute([.. rows.Select(r => WeakOnlyFailure(r.Profile))], sq, wq, sc, wc)));
        policies.Add(RandomPolicy(sq, wq, sc, wc));

        var fitKnob = FitHalfKnob(harness, data, fit, trained, knobFull, sq, wq, sc, wc);
        var complexity = rows.Select(r => r.Profile.ComplexityScore ?? double.NaN).ToList();
        var result = new FoldReport(
            data.Name,
            fold,
            fit.Count,
            report.Count,
            Format.Mean(sq),
            Format.Mean(wq),
            sc.Sum(),
            wc.Sum(),
            Auc.Compute(complexity, labels),
            Auc.Compute([.. rows.Select(r => (double)(r.Profile.Complexity ?? 0))], labels),
            Auc.Compute([.. fast.Select(r => r.Profile.ComplexityScore ?? double.NaN)], labels),
            Auc.Compute([.. rows.Select(r => WeakOnlyFailure(r.Profile))], labels),
            knobFull.Count(v => v == 0),
            rows.Count(r => r.Profile.Risk.Level >= RiskLevel.Medium),
            rows.Where(r => r.Profile.Risk.Level >= RiskLevel.Medium).SelectMany(r => r.Profile.Risk.Categories.Select(c => c.ToWireName()))
                .GroupBy(c => c).OrderByDescending(g => g.Count()).ToDictionary(g => g.Key, g => g.Count()),
            rows.GroupBy(r => r.Profile.Task.Type.ToWireName()).OrderByDescending(g => g.Count()).ToDictionary(g => g.Key, g => g.Count()),
            policies,
            sweep,
            fitKnob,
            trained.Provenance)
        {
            Curves = curves,
        };
        Print(result);
        return result;
    }

    private static double WeakOnlyFailure(Core.Analysis.RequestProfile profile) =>
        profile.ComplexitySignals is { } s && s.TryGetValue("economy_failure", out var pw) && s.TryGetValue("premium_failure", out var ps)
            ? pw * (1 - ps)
            : double.NaN;

    private static OperatingPoint Point(double knob, HashSet<int> premium, double[] sq, double[] wq, double[] sc, double[] wc)
    {
        double quality = 0, cost = 0;
        for (var i = 0; i < sq.Length; i++)
        {
            quality += premium.Contains(i) ? sq[i] : wq[i];
            cost += premium.Contains(i) ? sc[i] : wc[i];
        }

        return new OperatingPoint(knob, premium.Count / (double)sq.Length, quality / sq.Length, quality / sq.Sum(), cost, 1 - (cost / sc.Sum()));
    }

    private static PolicyResult Policy(string name, RoutingCurve curve) => new(
        name,
        curve.ApgrRouteLlm(),
        curve.Apgr(),
        [.. Targets.Select(t =>
        {
            var share = curve.ShareForQuality(t * curve.StrongQuality);
            return new TargetPoint(t, share, share is { } s ? 1 - (curve.CostAt(s) / curve.StrongCost) : null);
        })]);

    private static PolicyResult RandomPolicy(double[] sq, double[] wq, double[] sc, double[] wc)
    {
        var strong = Format.Mean(sq);
        var weak = Format.Mean(wq);
        return new PolicyResult("random (expected)", 0.5, 0.5, [.. Targets.Select(t =>
        {
            var share = Math.Clamp(((t * strong) - weak) / (strong - weak), 0, 1);
            var cost = wc.Sum() + (share * (sc.Sum() - wc.Sum()));
            return new TargetPoint(t, share, 1 - (cost / sc.Sum()));
        })]);
    }

    /// <summary>
    /// The knob a tenant would pick for 95% of strong quality on the fit half, applied unchanged to the report half.
    /// Fit rows are analysed by the router, with their complexity from the trainer's out-of-fold neighbour features
    /// (scoring them with a model that stores them as exemplars would flatter the choice).
    /// </summary>
    private static OperatingPoint? FitHalfKnob(RouterHarness harness, RoutingData data, List<int> fit, TrainedFold trained, double[] reportKnobs, double[] sq, double[] wq, double[] sc, double[] wc)
    {
        var model = trained.Trained.Model;
        var fitKnobs = new List<(double Knob, double Strong, double Weak)>();
        foreach (var i in fit)
        {
            if (!trained.Index.TryGetValue((data.Path, i), out var t))
            {
                continue;
            }

            var analysed = harness.Analyse(data.Rows[i], data.Requests[i], data.Embeddings[i]);
            var scale = ComplexityEstimator.ToScale(trained.Trained.FullGain[t], model.Data.FullGainPercentiles);
            var profile = analysed.Profile with { ComplexityScore = scale, Complexity = ComplexityEstimator.ToLevel(scale) };
            fitKnobs.Add((harness.PremiumFromKnob(analysed, profile), data.Rows[i].Strong.Quality, data.Rows[i].Weak.Quality));
        }

        if (fitKnobs.Count == 0)
        {
            return null;
        }

        var target = 0.95 * fitKnobs.Sum(r => r.Strong);
        var quality = fitKnobs.Sum(r => r.Weak);
        var knob = 0.0;
        foreach (var group in fitKnobs.GroupBy(r => r.Knob).OrderBy(g => g.Key))
        {
            if (double.IsPositiveInfinity(group.Key))
            {
                break;
            }

            quality += group.Sum(r => r.Strong - r.Weak);
            knob = group.Key;
            if (quality >= target)
            {
                break;
            }
        }

        var premium = reportKnobs.Select((v, i) => (v, i)).Where(p => p.v <= knob).Select(p => p.i).ToHashSet();
        return Point(knob, premium, sq, wq, sc, wc);
    }

    private void Print(FoldReport r)
    {
        var log = bench.Log;
        log.WriteLine(Format.Invariant($"== {r.File} fold {r.Fold}: fit {r.FitRows}, report {r.ReportRows}; strong {Format.Num(r.StrongQuality, "P1")} (${r.StrongCostUsd:F4}), weak {Format.Num(r.WeakQuality, "P1")} (${r.WeakCostUsd:F4}); premium even at knob 0: {r.AlwaysPremium} (medium/high risk: {r.RiskFloored})"));
        log.WriteLine($"complexity AUC (weak wrong, strong right): score {Format.Num(r.ComplexityAuc)}, level {Format.Num(r.ComplexityLevelAuc)}, fast path {Format.Num(r.FastComplexityAuc)}, P(weak fails)·P(strong succeeds) {Format.Num(r.WeakOnlyFailureAuc)}");
        log.WriteLine("tasks: " + string.Join(", ", r.Tasks.Select(t => $"{t.Key} {t.Value}")));
        foreach (var p in r.Policies)
        {
            log.WriteLine($"{p.Policy,-34} APGR {Format.Num(p.ApgrRouteLlm)} (exact {Format.Num(p.ApgrExact)}) " +
                string.Join("  ", p.Targets.Select(t => Format.Invariant($"@{t.Target:P0}: {Format.Pct(t.StrongShare)} strong, saving {Format.Pct(t.Saving)}"))));
        }

        if (r.FitHalfKnob95 is { } k)
        {
            log.WriteLine($"knob chosen on the fit half for 95%: {Format.Num(k.Knob)} -> {Format.Num(k.StrongShare, "P1")} strong, {Format.Num(k.QualityOfStrong, "P1")} of strong quality, saving {Format.Num(k.Saving, "P1")}");
        }
    }
}
