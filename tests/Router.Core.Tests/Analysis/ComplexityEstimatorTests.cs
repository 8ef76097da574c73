using Router.Core.Analysis;

namespace Router.Core.Tests.Analysis;

public sealed class ComplexityEstimatorTests
{
    private const string Greeting = "hi, thanks!";

    private const string WordProblem =
        "A bakery sells muffins for $3 each and cookies for $1.50 each. On Monday it sold twice as many cookies as " +
        "muffins, and on Tuesday it sold 40% more muffins than on Monday but half as many cookies. If it sold 120 " +
        "muffins on Monday, how much more money did it make on Monday than on Tuesday, after paying a 15% fee on " +
        "Tuesday's sales? Then find the average daily revenue over both days.";

    private const string EngineeringTask =
        "Design a rate limiter for our multi-tenant API gateway. Requirements:\n" +
        "1. Must support per-tenant and per-key limits with burst allowance\n" +
        "2. Must work across 12 stateless instances without a single point of failure\n" +
        "3. Explain the trade-offs between token bucket and sliding window, and justify your choice\n" +
        "4. Provide the core algorithm in C# with unit tests, and estimate Redis memory per 10,000 tenants\n" +
        "Do not use third-party libraries. Keep the answer under 800 words and format the design as a table.";

    private readonly ComplexityEstimator _estimator = new();

    [Fact]
    public void Orders_prompts_by_how_much_they_need_a_premium_model()
    {
        var greeting = _estimator.Estimate(Greeting);
        var problem = _estimator.Estimate(WordProblem);
        var task = _estimator.Estimate(EngineeringTask);

        Assert.True(greeting.Scale < problem.Scale, $"{greeting.Scale} !< {problem.Scale}");
        Assert.True(greeting.Level < task.Level, $"{greeting.Level} !< {task.Level}");
        Assert.InRange(greeting.Level, 1, 3);
        Assert.InRange(task.Level, 6, 10);
    }

    [Fact]
    public void A_longer_multi_step_problem_is_more_complex_than_a_one_step_one()
    {
        var oneStep = _estimator.Estimate("Sam has 4 pencils and buys 3 more. How many pencils does he have?");
        var multiStep = _estimator.Estimate(WordProblem);

        Assert.True(oneStep.Level < multiStep.Level, $"{oneStep.Level} !< {multiStep.Level}");
    }

    [Fact]
    public void The_scale_is_the_gain_percentile_and_the_level_its_rounding()
    {
        foreach (var prompt in new[] { "", Greeting, WordProblem, EngineeringTask })
        {
            var estimate = _estimator.Estimate(prompt);

            Assert.InRange(estimate.Scale, 1, 10);
            Assert.Equal(ComplexityEstimator.ToLevel(estimate.Scale), estimate.Level);
            Assert.Equal(estimate.EconomyFailure - estimate.PremiumFailure, estimate.PremiumGain, 12);
        }
    }

    [Fact]
    public void The_scale_rises_with_the_gain_and_spans_one_to_ten()
    {
        double[] percentiles = [.. Enumerable.Range(0, 101).Select(i => 0.5 - (i / 100.0))];

        Assert.Equal(10, ComplexityEstimator.ToScale(0.6, percentiles));
        Assert.Equal(1, ComplexityEstimator.ToScale(-0.6, percentiles));
        Assert.Equal(5.5, ComplexityEstimator.ToScale(0.0, percentiles), 9);
        var previous = 0.0;
        for (var gain = -0.6; gain <= 0.6; gain += 0.01)
        {
            var scale = ComplexityEstimator.ToScale(gain, percentiles);
            Assert.True(scale >= previous, $"scale fell at gain {gain}");
            previous = scale;
        }
    }

    [Fact]
    public void Explains_the_estimate_with_named_signals()
    {
        var estimate = _estimator.Estimate(WordProblem);

        Assert.False(estimate.UsedEmbedding);
        Assert.Contains(estimate.Signals, s => s.Name == "length" && s.Contribution > 0);
        Assert.Equal(StructuralFeatures.Count, estimate.Signals.Count);
        Assert.InRange(estimate.EconomyFailure, 0, 1);
        Assert.InRange(estimate.PremiumFailure, 0, 1);
    }

    [Fact]
    public void Fast_scale_matches_the_estimate_without_embedding()
    {
        Assert.Equal(_estimator.Estimate(EngineeringTask).Scale, _estimator.FastScale(EngineeringTask), 12);
    }

    [Fact]
    public void Uses_the_embedding_only_when_it_has_the_model_dimensions()
    {
        var embedding = UnitVector(_estimator.Model.Dimensions, seed: 3);

        var withEmbedding = _estimator.Estimate(WordProblem, embedding);
        var wrongSize = _estimator.Estimate(WordProblem, new float[17]);

        Assert.True(withEmbedding.UsedEmbedding);
        Assert.Contains(withEmbedding.Signals, s => s.Name == "topic");
        Assert.False(wrongSize.UsedEmbedding);
        Assert.Equal(_estimator.Estimate(WordProblem).Scale, wrongSize.Scale, 12);
    }

    [Fact]
    public void The_model_survives_a_save_and_load()
    {
        using var stream = new MemoryStream();
        DifficultyModel.Default.Save(stream);
        stream.Position = 0;

        var reloaded = new ComplexityEstimator(DifficultyModel.Load(stream));
        var embedding = UnitVector(DifficultyModel.Default.Dimensions, seed: 5);

        Assert.Equal(_estimator.Estimate(EngineeringTask, embedding).Scale, reloaded.Estimate(EngineeringTask, embedding).Scale, 9);
    }

    internal static float[] UnitVector(int dimensions, int seed)
    {
        var random = new Random(seed);
        var v = new float[dimensions];
        for (var i = 0; i < v.Length; i++)
        {
            v[i] = (float)((random.NextDouble() * 2) - 1);
        }

        var norm = MathF.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => x / norm)];
    }
}
