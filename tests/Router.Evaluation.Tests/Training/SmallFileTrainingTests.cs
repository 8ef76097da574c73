using Router.Core.Analysis;
using Router.Evaluation.Training;

namespace Router.Evaluation.Tests.Training;

public sealed class SmallFileTrainingTests
{
    private static float[] UnitVector(int seed)
    {
        var random = new Random(seed);
        var v = Enumerable.Range(0, 384).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var norm = MathF.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => x / norm)];
    }

    [Fact]
    public void Principal_components_of_fewer_points_than_components_have_no_NaN()
    {
        var (mean, projection) = PrincipalComponents.Fit([UnitVector(1)], components: 8);

        Assert.All(mean, m => Assert.True(float.IsFinite(m)));
        Assert.All(projection, p => Assert.True(float.IsFinite(p)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_model_trained_on_a_handful_of_rows_scores_prompts_with_finite_numbers(int rows)
    {
        var examples = Enumerable.Range(0, rows)
            .Select(i => new TrainingExample($"Question {i}: how many apples are left after {i + 2} are eaten?", UnitVector(i), 1.0, i % 2, "small.jsonl"))
            .ToList();

        var trained = DifficultyModelTrainer.Train(examples, new TrainerOptions(), "test", null);

        Assert.All(trained.FullGain, g => Assert.True(double.IsFinite(g)));
        Assert.All(trained.FullFeatures.SelectMany(x => x), x => Assert.True(double.IsFinite(x)));
        var estimator = new ComplexityEstimator(trained.Model);
        var estimate = estimator.Estimate("How many apples are left?", UnitVector(99));
        Assert.True(double.IsFinite(estimate.Scale) && double.IsFinite(estimate.PremiumGain));
        Assert.InRange(estimate.Level, 1, 10);
    }
}
