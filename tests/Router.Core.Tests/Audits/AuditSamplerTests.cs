using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Analysis;
using Router.Core.Audits;
using Router.Core.Catalog;
using Router.Core.Metering;
using Router.Core.Routing;
using Router.Core.Telemetry;
using Router.Core.Tests.Execution;
using Router.Core.Tests.Routing;

namespace Router.Core.Tests.Audits;

public sealed class AuditSamplerTests
{
    private static readonly TenantPolicy Policy = TenantPolicy.Default("acme");

    private static RoutingDecision Decision(ModelTier tier, ModelTier? raisedFrom) =>
        new() { Tier = tier, Candidates = [], Reasons = [], EffectiveComplexity = 2, RaisedFrom = raisedFrom };

    private static AuditSampler Sampler(AuditOptions options, TimeProvider? time = null, ILogger<AuditSampler>? logger = null) =>
        new(Options.Create(options), time ?? TimeProvider.System, new RouterTelemetry(new TestMeterFactory()), logger ?? NullLogger<AuditSampler>.Instance);

    private static string[] Reasons(AuditOptions options, ModelTier served, ModelTier? raisedFrom, int requests = 2000) =>
        Enumerable.Range(0, requests)
            .Select(i => Sampler(options).Choose($"req_{i}", Policy, Profiles.Of(TaskType.Coding, 2), Decision(served, raisedFrom), served, "miss"))
            .OfType<string>()
            .ToArray();

    [Theory]
    [InlineData(ModelTier.Standard)]
    [InlineData(ModelTier.Premium)]
    public void Answers_in_a_band_raised_from_economy_are_probed_against_economy_whatever_tier_served(ModelTier served)
    {
        var reasons = Reasons(new AuditOptions { SampleRate = 0, ProbeSampleRate = 1 }, served, ModelTier.Economy);

        Assert.Equal(2000, reasons.Length);
        Assert.All(reasons, r => Assert.Equal(AuditReasons.Probe, r));
    }

    [Fact]
    public void Probes_take_only_their_share_of_the_serving_tiers_sampled_audits()
    {
        var options = new AuditOptions { SampleRate = 0.05, ProbeSampleRate = 0.10 };
        var raised = Reasons(options, ModelTier.Standard, ModelTier.Economy, 20_000);
        var unraised = Reasons(options, ModelTier.Standard, null, 20_000);

        Assert.DoesNotContain(AuditReasons.Probe, unraised);
        Assert.InRange(raised.Count(r => r == AuditReasons.Probe), 20_000 * 0.08, 20_000 * 0.12);
        Assert.InRange(raised.Count(r => r == AuditReasons.Sampled), unraised.Length * 0.85, unraised.Length * 0.95);
    }

    [Fact]
    public void A_tenant_that_samples_every_answer_still_gets_probes()
    {
        var reasons = Reasons(new AuditOptions { SampleRate = 1, ProbeSampleRate = 1 }, ModelTier.Standard, ModelTier.Economy);

        Assert.All(reasons, r => Assert.Equal(AuditReasons.Probe, r));
    }

    [Fact]
    public void An_answer_from_the_tier_the_band_was_raised_from_is_no_probe()
    {
        // Capabilities can send a raised request back down; that answer is the lower tier's own evidence.
        var reasons = Reasons(new AuditOptions { SampleRate = 0, ProbeSampleRate = 1 }, ModelTier.Economy, ModelTier.Economy);

        Assert.Empty(reasons);
    }

    [Fact]
    public void Past_the_cap_risky_answers_are_chosen_but_not_admitted_until_the_minute_refills()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var sampler = Sampler(new AuditOptions { MaxPerMinute = 20 }, time);
        var risky = Profiles.Of(TaskType.Coding, 2, RiskLevel.High);

        // A burst of risky economy traffic: every answer is chosen (risk sample rate 1), only the cap's worth less the fifth
        // kept for probes and rules is queued.
        var chosen = Enumerable.Range(0, 500)
            .Select(i => sampler.Choose($"req_{i}", Policy, risky, Decision(ModelTier.Economy, null), ModelTier.Economy, "miss"))
            .ToArray();
        Assert.All(chosen, r => Assert.Equal(AuditReasons.Risk, r));
        Assert.Equal(16, chosen.Count(r => sampler.Admit(r!)));

        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(10, chosen.Count(r => sampler.Admit(r!)));
    }

    [Fact]
    public void A_burst_of_risky_answers_leaves_a_fifth_of_the_cap_to_probes_and_rule_forced_audits()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var sampler = Sampler(new AuditOptions { MaxPerMinute = 30 }, time);

        Assert.Equal(24, Enumerable.Range(0, 100).Count(_ => sampler.Admit(AuditReasons.Risk)));
        Assert.Equal(0, Enumerable.Range(0, 10).Count(_ => sampler.Admit(AuditReasons.Sampled)));
        Assert.Equal(0, Enumerable.Range(0, 10).Count(_ => sampler.Admit(AuditReasons.SemanticHit)));

        // The reserve serves probes and rules, and the cap still holds for them.
        Assert.True(sampler.Admit(AuditReasons.Rule));
        Assert.Equal(5, Enumerable.Range(0, 10).Count(_ => sampler.Admit(AuditReasons.Probe)));
        Assert.False(sampler.Admit(AuditReasons.Rule));
    }

    [Fact]
    public void Answers_skipped_past_the_cap_are_reported_once_a_minute_with_their_count()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var logger = new RecordingLogger();
        var sampler = Sampler(new AuditOptions { MaxPerMinute = 1 }, time, logger);

        Assert.True(sampler.Admit(AuditReasons.Risk));
        Assert.Equal(0, Enumerable.Range(0, 10).Count(_ => sampler.Admit(AuditReasons.Risk)));
        var first = Assert.Single(logger.Events);
        Assert.Equal((1306, 1L), (first.Id, first.Skipped));

        // Within the minute nothing more is logged; the next report counts everything skipped since the first.
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(sampler.Admit(AuditReasons.Risk));
        Assert.Single(logger.Events);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(sampler.Admit(AuditReasons.Risk));
        Assert.False(sampler.Admit(AuditReasons.Risk));
        Assert.Equal(2, logger.Events.Count);
        Assert.Equal((1306, 11L), logger.Events[^1]);
    }

    private sealed class RecordingLogger : ILogger<AuditSampler>
    {
        public List<(int Id, long Skipped)> Events { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Events.Add((eventId.Id, state is IReadOnlyList<KeyValuePair<string, object?>> fields
                ? Convert.ToInt64(fields.Single(f => f.Key == "Skipped").Value, System.Globalization.CultureInfo.InvariantCulture)
                : -1));
    }
}
