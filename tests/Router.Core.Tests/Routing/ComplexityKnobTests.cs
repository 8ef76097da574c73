using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Router.Core.Analysis;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Metering;
using Router.Core.Pipeline;
using Router.Core.Routing;
using Router.Core.Tests.Analysis;
using Router.Core.Tests.Catalog;
using Router.Core.Weights;

namespace Router.Core.Tests.Routing;

/// <summary>The cost/quality knob over the real analyzer and complexity estimator (not hand-set complexities).</summary>
public sealed class ComplexityKnobTests
{
    private static readonly string[] Prompts =
    [
        "hi there!",
        "Thanks, that was helpful.",
        "What is the capital of Australia?",
        "Translate 'where is the train station?' into German.",
        "Summarize this paragraph in one sentence: The committee met on Tuesday to review the budget. After a long discussion it approved the plan with minor changes to the travel allowance.",
        "Write a short poem about autumn leaves.",
        "Sam has 4 pencils and buys 3 more. How many pencils does he have?",
        "A bakery sells muffins for $3 each and cookies for $1.50 each. On Monday it sold twice as many cookies as muffins, and on Tuesday it sold 40% more muffins than on Monday but half as many cookies. If it sold 120 muffins on Monday, how much more money did it make on Monday than on Tuesday?",
        "Which gas is most abundant in Earth's atmosphere?\nA. Oxygen\nB. Nitrogen\nC. Argon\nD. Carbon dioxide\nAnswer:",
        "Fix the bug: ```python\ndef mean(xs):\n    return sum(xs) / len(xs) + 1\n```",
        "Design a rate limiter for a multi-tenant API gateway. It must support per-tenant and per-key limits with bursts, work across 12 stateless instances, and you must explain the trade-offs between token bucket and sliding window. Provide C# code with unit tests.",
        "Prove that the square root of 2 is irrational, then derive a bound on how well it can be approximated by fractions p/q.",
    ];

    private readonly RequestAnalyzer _analyzer = new(Options.Create(new RequestAnalyzerOptions()), TaskModel.LoadEmbedded(), new ComplexityEstimator());

    [Fact]
    public void Every_profile_carries_the_estimators_complexity()
    {
        foreach (var prompt in Prompts)
        {
            var profile = _analyzer.Analyze(AnalysisRequest.FromPrompt(prompt));

            Assert.NotNull(profile.ComplexityScore);
            Assert.InRange(profile.ComplexityScore.Value, 1, 10);
            Assert.Equal(ComplexityEstimator.ToLevel(profile.ComplexityScore.Value), profile.Complexity);
            Assert.NotNull(profile.ComplexitySignals);
            Assert.Contains("premium_gain", profile.ComplexitySignals.Keys);
            Assert.Contains("length", profile.ComplexitySignals.Keys);
        }
    }

    [Fact]
    public void The_fast_paths_signals_built_on_first_read_are_those_of_an_explained_estimate_of_the_same_text()
    {
        var estimator = new ComplexityEstimator();
        foreach (var prompt in Prompts)
        {
            var profile = _analyzer.Analyze(AnalysisRequest.FromPrompt(prompt));
            var explained = estimator.Estimate(prompt);
            var unexplained = estimator.Estimate(prompt, explain: false);

            Assert.Empty(unexplained.Signals);
            Assert.Equal(explained.Scale, unexplained.Scale);
            Assert.NotEmpty(explained.Signals);
            Assert.Equal(explained.PremiumGain, profile.ComplexitySignals!["premium_gain"]);
            foreach (var signal in explained.Signals)
            {
                Assert.Equal(signal.Contribution, profile.ComplexitySignals[signal.Name]);
            }

            Assert.Equal(explained.Signals.Count + 4, profile.ComplexitySignals.Count);
        }
    }

    [Fact]
    public void The_embedding_path_is_used_when_an_embedding_of_the_right_size_is_given()
    {
        var request = AnalysisRequest.FromPrompt(Prompts[7]);
        var fast = _analyzer.Analyze(request);
        var full = _analyzer.Analyze(request, ComplexityEstimatorTests.UnitVector(DifficultyModel.Default.Dimensions, seed: 11));

        Assert.Equal(0, fast.ComplexitySignals!["embedding"]);
        Assert.Equal(1, full.ComplexitySignals!["embedding"]);
        Assert.Contains("topic", full.ComplexitySignals.Keys);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Knob_zero_sends_everything_to_economy_and_knob_one_everything_to_premium(bool withEmbedding)
    {
        var catalog = new ModelCatalog(ModelCatalogTests.Options());
        foreach (var prompt in Prompts)
        {
            var profile = Analyze(prompt, withEmbedding);
            Assert.True(profile.Risk.Level <= RiskLevel.Low, $"{prompt}: risk {profile.Risk.Level} sets a tier floor");

            Assert.Equal(ModelTier.Economy, Decide(catalog, profile, 0).Tier);
            Assert.Equal(ModelTier.Premium, Decide(catalog, profile, 1).Tier);
        }
    }

    [Fact]
    public void Raising_the_knob_never_lowers_a_tier_and_premium_sets_are_nested()
    {
        var catalog = TwoTierCatalog();
        var profiles = Prompts.Select(p => Analyze(p, withEmbedding: false)).ToList();
        var previousShare = -1;
        HashSet<int> previous = [];
        for (var step = 0; step <= 40; step++)
        {
            var knob = step / 40.0;
            var premium = Enumerable.Range(0, profiles.Count).Where(i => Decide(catalog, profiles[i], knob).Tier == ModelTier.Premium).ToHashSet();

            Assert.True(previous.IsSubsetOf(premium), $"knob {knob}: a request left premium");
            Assert.True(premium.Count >= previousShare);
            previous = premium;
            previousShare = premium.Count;
        }

        Assert.Equal(profiles.Count, previousShare);
    }

    [Fact]
    public void At_the_default_knob_harder_prompts_get_a_tier_at_least_as_high_within_a_task()
    {
        var catalog = new ModelCatalog(ModelCatalogTests.Options());
        var easy = Analyze("Sam has 4 pencils and buys 3 more. How many pencils does he have?", withEmbedding: false);
        var hard = Analyze(Prompts[7], withEmbedding: false);

        Assert.Equal(easy.Task.Type, hard.Task.Type);
        Assert.True(hard.ComplexityScore > easy.ComplexityScore);
        Assert.True(Decide(catalog, hard, null).Tier >= Decide(catalog, easy, null).Tier);
    }

    private RequestProfile Analyze(string prompt, bool withEmbedding) =>
        _analyzer.Analyze(
            AnalysisRequest.FromPrompt(prompt),
            withEmbedding ? ComplexityEstimatorTests.UnitVector(DifficultyModel.Default.Dimensions, seed: prompt.Length) : default);

    private static ModelCatalog TwoTierCatalog()
    {
        var options = ModelCatalogTests.Options();
        options.Models.Remove("mid");
        return new ModelCatalog(options);
    }

    private static RoutingDecision Decide(ModelCatalog catalog, RequestProfile profile, double? knob)
    {
        var options = Options.Create(new RoutingOptions());
        var router = new RequestRouter(catalog, new RoutingTable(options), options, new RoutingWeightsHolder());
        var knobField = knob is { } q ? $",\"router\":{{\"quality\":{q.ToString("0.####", CultureInfo.InvariantCulture)}}}" : "";
        var body = Encoding.UTF8.GetBytes($$"""{"model":"auto"{{knobField}},"messages":[{"role":"user","content":"x"}]}""");
        Assert.True(ChatRequestParser.TryParse(body, out var request, out var parseError), parseError?.Message);
        Assert.True(ModelRequest.TryResolve(catalog, request.Model, out var modelRequest, out _));
        var context = new RequestContext { RequestId = "req_knob", TenantId = "acme" };
        Assert.True(router.TryDecide(new RuleInput(profile, context, request), modelRequest, TenantPolicy.Default("acme"), out var decision, out var error), error?.Message);
        return decision;
    }
}
