using Router.Evaluation.Metrics;

namespace Router.Evaluation.Tests.Metrics;

public sealed class RoutingCurveTests
{
    [Fact]
    public void An_empty_report_half_gives_undefined_metrics_not_an_exception()
    {
        var curve = RoutingCurve.Compute([], [], [], [], []);

        Assert.True(double.IsNaN(curve.StrongQuality));
        Assert.True(double.IsNaN(curve.Apgr()));
        Assert.True(double.IsNaN(curve.ApgrRouteLlm()));
        Assert.Null(curve.ShareForQuality(0.95 * curve.StrongQuality));
        Assert.Equal("n/a", Format.Num(curve.Apgr()));
    }

    [Fact]
    public void With_no_gap_between_the_models_APGR_is_undefined()
    {
        double[] quality = [1, 0, 1];
        var curve = RoutingCurve.Compute([0.2, 0.5, 0.9], quality, quality, [3, 3, 3], [1, 1, 1]);

        Assert.True(double.IsNaN(curve.Apgr()));
        Assert.True(double.IsNaN(curve.ApgrRouteLlm()));
        Assert.Equal(0, curve.ShareForQuality(curve.StrongQuality));
    }

    [Fact]
    public void With_every_score_equal_the_decile_APGR_is_still_defined_and_the_exact_one_is_a_half()
    {
        var curve = RoutingCurve.Compute([1, 1, 1, 1], [1, 1, 1, 0], [0, 1, 0, 0], [3, 3, 3, 3], [1, 1, 1, 1]);

        Assert.Equal(0.5, curve.Apgr(), 9);
        Assert.True(double.IsFinite(curve.ApgrRouteLlm()));
    }

    [Fact]
    public void A_perfect_ranking_keeps_its_value()
    {
        var curve = RoutingCurve.Compute([0.9, 0.1], [1, 1], [0, 1], [3, 3], [1, 1]);

        Assert.Equal(0.75, curve.Apgr(), 9);
        Assert.Equal(0.5, curve.ShareForQuality(1.0));
    }

    [Fact]
    public void AUC_is_undefined_when_a_class_is_absent()
    {
        Assert.True(double.IsNaN(Auc.Compute([0.1, 0.2, 0.3], [true, true, true])));
        Assert.True(double.IsNaN(Auc.Compute([0.1, 0.2], [false, false])));
        Assert.True(double.IsNaN(Auc.Compute([], [])));
    }

    [Fact]
    public void AUC_counts_ties_half()
    {
        Assert.Equal(0.75, Auc.Compute([0.1, 0.5, 0.5], [false, true, false]), 9);
    }

    [Fact]
    public void Spearman_is_undefined_for_fewer_than_two_pairs_or_a_constant_side()
    {
        Assert.True(double.IsNaN(Auc.Spearman([], [])));
        Assert.True(double.IsNaN(Auc.Spearman([1.0], [2.0])));
        Assert.True(double.IsNaN(Auc.Spearman([1.0, 1.0, 1.0], [0.0, 1.0, 2.0])));
    }

    [Fact]
    public void Spearman_of_a_monotone_pair_is_one()
    {
        Assert.Equal(1.0, Auc.Spearman([1, 2, 3], [10, 20, 30]), 9);
    }

    [Fact]
    public void Undefined_values_print_as_n_a_and_defined_ones_as_before()
    {
        Assert.Equal("n/a", Format.Num(double.NaN));
        Assert.Equal("n/a", Format.Num(double.PositiveInfinity, "P1"));
        Assert.Equal("0.250", Format.Num(0.25));
        Assert.Equal(0.925.ToString("P1", System.Globalization.CultureInfo.InvariantCulture), Format.Num(0.925, "P1"));
        Assert.Equal("n/a", Format.Pct(double.NaN));
        Assert.True(double.IsNaN(Format.Mean([])));
    }
}
