using System.Diagnostics;
using System.Diagnostics.Metrics;
using Router.Core.Metering;

namespace Router.Core.Telemetry;

/// <summary>The router's metrics (<see cref="Meter"/> <c>Router</c>) and traces (<see cref="ActivitySource"/>
/// <c>Router</c>), exported by the hosts with OpenTelemetry.</summary>
public sealed class RouterTelemetry : IDisposable
{
    /// <summary>Name of the meter and activity source.</summary>
    public const string Name = "Router";

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Counter<double> _cost;
    private readonly Counter<double> _baseline;
    private readonly Counter<double> _savings;
    private readonly Counter<long> _tokens;
    private readonly Counter<long> _fallbacks;
    private readonly Histogram<double> _latency;
    private readonly Counter<long> _circuit;
    private readonly Histogram<double> _auditScore;
    private readonly Counter<long> _auditsSkipped;

    /// <summary>Creates the instruments on a meter from <paramref name="meters"/>.</summary>
    public RouterTelemetry(IMeterFactory meters)
    {
        _meter = meters.Create(Name);
        _requests = _meter.CreateCounter<long>("router.requests", "{request}", "Routed requests by tier, model, task, cache status and outcome.");
        _cost = _meter.CreateCounter<double>("router.cost", "USD", "Provider cost of routed requests.");
        _baseline = _meter.CreateCounter<double>("router.baseline_cost", "USD", "What the same tokens would have cost on the baseline premium model.");
        _savings = _meter.CreateCounter<double>("router.savings", "USD", "Baseline cost minus provider cost.");
        _tokens = _meter.CreateCounter<long>("router.tokens", "{token}", "Prompt and completion tokens.");
        _fallbacks = _meter.CreateCounter<long>("router.fallbacks", "{attempt}", "Failed upstream attempts that were failed over.");
        _latency = _meter.CreateHistogram<double>("router.latency", "ms", "Time per stage: analysis, cache, provider, total.");
        _circuit = _meter.CreateCounter<long>("router.circuit.transitions", "{transition}", "Circuit-breaker state changes per deployment.");
        _auditScore = _meter.CreateHistogram<double>("router.audit.score", "1", "Audit scores (0-1) per task and model.");
        _auditsSkipped = _meter.CreateCounter<long>("router.audits.skipped", "{audit}", "Answers sampled for audit but not queued, per audit reason and why: past Router:Audits:MaxPerMinute (cap), with content the job cannot carry (non_text), with tool calls or results (tool_turns), a probe no lower-tier model could serve (no_challenger), personal data in the text the job would carry (personal_data), traffic a tenant rule pins to one model (pinned).");
    }

    /// <summary>Traces of requests: <c>router.chat</c> with child spans per stage and upstream attempt.</summary>
    public static ActivitySource Source { get; } = new(Name);

    /// <summary>Records a finished request.</summary>
    public void Request(UsageRecord usage)
    {
        var tags = new TagList
        {
            { "router.tier", usage.Tier ?? "none" },
            { "router.model", usage.Model ?? "none" },
            { "router.task", usage.Task ?? "none" },
            { "router.cache", usage.Cache },
            { "router.outcome", usage.Outcome },
        };
        _requests.Add(1, tags);
        var money = new TagList { { "router.tier", usage.Tier ?? "none" }, { "router.model", usage.Model ?? "none" } };
        _cost.Add((double)usage.CostUsd, money);
        _baseline.Add((double)usage.BaselineCostUsd, money);
        _savings.Add((double)usage.SavingsUsd, money);
        _tokens.Add(usage.PromptTokens, new TagList { { "router.model", usage.Model ?? "none" }, { "router.token.type", "prompt" } });
        _tokens.Add(usage.CompletionTokens, new TagList { { "router.model", usage.Model ?? "none" }, { "router.token.type", "completion" } });
        if (usage.Fallbacks > 0)
        {
            _fallbacks.Add(usage.Fallbacks, new TagList { { "router.model", usage.Model ?? "none" } });
        }

        _latency.Record(usage.LatencyMs, new TagList { { "router.stage", "total" }, { "router.cache", usage.Cache } });
    }

    /// <summary>Records the time one stage took.</summary>
    public void Stage(string stage, TimeSpan elapsed) => _latency.Record(elapsed.TotalMilliseconds, new TagList { { "router.stage", stage } });

    /// <summary>Records a circuit-breaker transition.</summary>
    public void CircuitChanged(string deployment, string state) =>
        _circuit.Add(1, new TagList { { "router.deployment", deployment }, { "router.circuit.state", state } });

    /// <summary>Records an audit's score.</summary>
    public void Audit(string task, string model, double score) =>
        _auditScore.Record(score, new TagList { { "router.task", task }, { "router.model", model } });

    /// <summary>Records an answer sampled for audit (for <paramref name="reason"/>) but not queued, and why
    /// (<see cref="Audits.AuditSkips"/>).</summary>
    public void AuditSkipped(string reason, string skip) =>
        _auditsSkipped.Add(1, new TagList { { "router.audit.reason", reason }, { "router.audit.skip", skip } });

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
