using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Router.Core.Analysis;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Metering;
using Router.Core.Pipeline;
using Router.Core.Routing;
using Router.Core.Tests.Catalog;
using Router.Core.Weights;

namespace Router.Core.Tests.Routing;

public sealed class RequestRouterTests
{
    private readonly ModelCatalog _catalog = new(ModelCatalogTests.Options());
    private readonly RoutingWeightsHolder _weights = new();

    private RequestRouter Router(RoutingOptions? options = null)
    {
        options ??= new RoutingOptions();
        return new RequestRouter(_catalog, new RoutingTable(Options.Create(options)), Options.Create(options), _weights);
    }

    private static ChatRequest Request(string model = "auto", string extra = "")
    {
        var json = $$"""{"model":"{{model}}"{{extra}},"messages":[{"role":"user","content":"hi"}]}""";
        Assert.True(ChatRequestParser.TryParse(Encoding.UTF8.GetBytes(json), out var request, out var error), error?.Message);
        return request;
    }

    private static RequestContext Context(string? keyId = null, string? session = null) =>
        new() { RequestId = "req_test", TenantId = "acme", KeyId = keyId, SessionId = session };

    private RoutingDecision Decide(RequestProfile profile, ChatRequest? request = null, TenantPolicy? policy = null, RequestContext? context = null, RequestRouter? router = null)
    {
        request ??= Request();
        Assert.True(ModelRequest.TryResolve(_catalog, request.Model, out var modelRequest, out _));
        var ok = (router ?? Router()).TryDecide(new RuleInput(profile, context ?? Context(), request), modelRequest, policy ?? TenantPolicy.Default("acme"), out var decision, out var error);
        Assert.True(ok, error?.Message);
        return decision;
    }

    [Theory]
    [InlineData(TaskType.Coding, 2, ModelTier.Economy)]
    [InlineData(TaskType.Coding, 5, ModelTier.Standard)]
    [InlineData(TaskType.Coding, 8, ModelTier.Premium)]
    [InlineData(TaskType.Chat, 5, ModelTier.Economy)]
    [InlineData(TaskType.Chat, 10, ModelTier.Premium)]
    public void The_table_maps_task_and_complexity_to_a_tier(TaskType task, double complexity, ModelTier expected)
    {
        var decision = Decide(Profiles.Of(task, complexity));

        Assert.Equal(expected, decision.Tier);
        Assert.Contains(decision.Reasons, r => r.StartsWith("table:", StringComparison.Ordinal));
    }

    [Fact]
    public void Candidates_are_the_tier_cheapest_first_then_one_tier_up()
    {
        var decision = Decide(Profiles.Of(TaskType.Chat, 2));

        Assert.Equal(["small", "mid"], decision.Candidates.Select(m => m.Id));
    }

    [Fact]
    public void The_knob_moves_decisions_monotonically()
    {
        foreach (var task in TaskTypeNames.All)
        {
            for (var complexity = 1.0; complexity <= 10; complexity += 0.5)
            {
                var previous = ModelTier.Economy;
                for (var q = 0.0; q <= 1.0001; q += 0.05)
                {
                    var request = Request(extra: $",\"router\":{{\"quality\":{q.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)}}}");
                    var tier = Decide(Profiles.Of(task, complexity), request).Tier;
                    Assert.True(tier >= previous, $"{task} c={complexity} q={q}: {tier} < {previous}");
                    previous = tier;
                }
            }
        }
    }

    [Fact]
    public void A_tenant_knob_applies_when_the_request_sets_none()
    {
        var cheap = Decide(Profiles.Of(TaskType.Coding, 5), policy: TenantPolicy.Default("acme") with { Quality = 0 });
        var best = Decide(Profiles.Of(TaskType.Coding, 5), policy: TenantPolicy.Default("acme") with { Quality = 1 });

        Assert.Equal(ModelTier.Economy, cheap.Tier);
        Assert.Equal(ModelTier.Premium, best.Tier);
    }

    [Theory]
    [InlineData(RiskLevel.High, ModelTier.Premium)]
    [InlineData(RiskLevel.Medium, ModelTier.Standard)]
    [InlineData(RiskLevel.Low, ModelTier.Economy)]
    public void Risk_raises_the_tier_to_the_configured_floor(RiskLevel risk, ModelTier expected)
    {
        var decision = Decide(Profiles.Of(TaskType.Chat, 1, risk, [RiskCategory.Medical]));

        Assert.Equal(expected, decision.Tier);
        if (expected != ModelTier.Economy)
        {
            Assert.Contains(decision.Reasons, r => r.StartsWith("risk: " + risk.ToWireName(), StringComparison.Ordinal) && r.Contains("medical", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Tier_aliases_and_pins_are_honoured()
    {
        Assert.Equal(ModelTier.Premium, Decide(Profiles.Of(TaskType.Chat, 1), Request("router/premium")).Tier);
        var pinned = Decide(Profiles.Of(TaskType.Coding, 10), Request("small"));
        Assert.Equal("small", pinned.Model.Id);
        Assert.Equal(["small"], pinned.Candidates.Select(m => m.Id));
    }

    [Fact]
    public void Learned_weights_raise_a_band_and_say_so()
    {
        _weights.TryUpdate(RoutingWeights.Empty with
        {
            Version = 1,
            Adjustments = new Dictionary<string, TierAdjustment> { ["coding/low"] = new(ModelTier.Premium, "economy below target") },
        });

        var decision = Decide(Profiles.Of(TaskType.Coding, 2));

        Assert.Equal(ModelTier.Premium, decision.Tier);
        Assert.Contains(decision.Reasons, r => r.StartsWith("weights: coding/low economy below target", StringComparison.Ordinal));
    }

    [Fact]
    public void Demoted_models_go_last_in_their_tier()
    {
        var options = ModelCatalogTests.Options();
        options.Models["small2"] = new ModelOptions { Provider = "sim", Tier = ModelTier.Economy, InputCostPerMillion = 0.2m, OutputCostPerMillion = 0.8m };
        var catalog = new ModelCatalog(options);
        var routing = new RoutingOptions();
        _weights.TryUpdate(RoutingWeights.Empty with { Version = 2, DemotedModels = new Dictionary<string, string> { ["small"] = "3 of 10 audits worse" } });
        var router = new RequestRouter(catalog, new RoutingTable(Options.Create(routing)), Options.Create(routing), _weights);
        Assert.True(ModelRequest.TryResolve(catalog, "auto", out var auto, out _));

        Assert.True(router.TryDecide(new RuleInput(Profiles.Of(TaskType.Chat, 1), Context(), Request()), auto, TenantPolicy.Default("acme"), out var decision, out _));

        Assert.Equal(["small2", "small", "mid"], decision.Candidates.Select(m => m.Id));
        Assert.Contains(decision.Reasons, r => r.Contains("small demoted", StringComparison.Ordinal));
    }

    [Fact]
    public void Images_need_a_vision_model_and_prompts_need_enough_context()
    {
        var options = ModelCatalogTests.Options();
        options.Models["big"].SupportsVision = true;
        options.Models["big"].ContextWindow = 1_000_000;
        var catalog = new ModelCatalog(options);
        var routing = new RoutingOptions();
        var router = new RequestRouter(catalog, new RoutingTable(Options.Create(routing)), Options.Create(routing), _weights);
        Assert.True(ModelRequest.TryResolve(catalog, "auto", out var auto, out _));

        Assert.True(router.TryDecide(new RuleInput(Profiles.Of(TaskType.Chat, 1, images: true), Context(), Request()), auto, TenantPolicy.Default("acme"), out var vision, out _));
        Assert.True(router.TryDecide(new RuleInput(Profiles.Of(TaskType.Chat, 1, promptTokens: 500_000), Context(), Request()), auto, TenantPolicy.Default("acme"), out var longPrompt, out _));
        Assert.False(router.TryDecide(new RuleInput(Profiles.Of(TaskType.Chat, 1, promptTokens: 5_000_000), Context(), Request()), auto, TenantPolicy.Default("acme"), out _, out var error));

        Assert.Equal("big", vision.Model.Id);
        Assert.Contains(vision.Reasons, r => r.StartsWith("catalog: no capable economy model", StringComparison.Ordinal));
        Assert.Equal("big", longPrompt.Model.Id);
        Assert.Equal("context_length_exceeded", error.Code);
    }

    [Fact]
    public void With_no_capable_model_the_error_names_what_is_missing()
    {
        var options = ModelCatalogTests.Options();
        foreach (var model in options.Models.Values)
        {
            model.SupportsVision = false;
            model.SupportsTools = false;
        }

        var catalog = new ModelCatalog(options);
        var routing = new RoutingOptions();
        var router = new RequestRouter(catalog, new RoutingTable(Options.Create(routing)), Options.Create(routing), _weights);
        Assert.True(ModelRequest.TryResolve(catalog, "auto", out var auto, out _));
        RouterError Refusal(RequestProfile profile, ChatRequest request)
        {
            Assert.False(router.TryDecide(new RuleInput(profile, Context(), request), auto, TenantPolicy.Default("acme"), out _, out var error));
            return error;
        }

        var images = Refusal(Profiles.Of(TaskType.Chat, 1, images: true), Request());
        var tools = Refusal(Profiles.Of(TaskType.Chat, 1), Request(extra: ""","tools":[{"type":"function","function":{"name":"f"}}]"""));
        var context = Refusal(Profiles.Of(TaskType.Chat, 1, promptTokens: 5_000_000), Request());

        Assert.Equal(("unsupported_value", "messages"), (images.Code, images.Param));
        Assert.Contains("images", images.Message, StringComparison.Ordinal);
        Assert.Equal(("unsupported_value", "tools"), (tools.Code, tools.Param));
        Assert.Equal(("context_length_exceeded", "messages"), (context.Code, context.Param));
        Assert.Contains("5000000 tokens", context.Message, StringComparison.Ordinal);
        Assert.All([images, tools, context], e => Assert.Equal(400, e.Status));
    }

    [Fact]
    public void Rules_pin_premium_for_medical_and_cap_complexity_for_a_key_and_are_listed()
    {
        var rules = Compile("""
            [{"name":"medical-premium","when":{"risk_categories":["medical"]},"then":{"min_tier":"premium"}},
             {"name":"batch-key-cheap","when":{"key_id":"k-batch"},"then":{"cap_complexity":2}}]
            """);
        var policy = TenantPolicy.Default("acme") with { Rules = rules };

        var medical = Decide(Profiles.Of(TaskType.KnowledgeQa, 2, RiskLevel.Low, [RiskCategory.Medical]), policy: policy);
        var capped = Decide(Profiles.Of(TaskType.Coding, 9), policy: policy, context: Context(keyId: "k-batch"));
        var other = Decide(Profiles.Of(TaskType.Coding, 9), policy: policy, context: Context(keyId: "k-other"));

        Assert.Equal(ModelTier.Premium, medical.Tier);
        Assert.Equal(["medical-premium"], medical.RulesFired);
        Assert.Contains("rule:medical-premium min tier premium", medical.Reasons);
        Assert.Equal(ModelTier.Economy, capped.Tier);
        Assert.Equal(["batch-key-cheap"], capped.RulesFired);
        Assert.Equal(ModelTier.Premium, other.Tier);
        Assert.Empty(other.RulesFired);
    }

    [Fact]
    public void A_deny_rule_refuses_with_403()
    {
        var policy = TenantPolicy.Default("acme") with { Rules = Compile("""[{"name":"no-legal","when":{"risk_categories":["legal"]},"then":{"deny":"Legal questions go to counsel."}}]""") };
        Assert.True(ModelRequest.TryResolve(_catalog, "auto", out var auto, out _));

        var ok = Router().TryDecide(new RuleInput(Profiles.Of(TaskType.Advice, 3, RiskLevel.Medium, [RiskCategory.Legal]), Context(), Request()), auto, policy, out _, out var error);

        Assert.False(ok);
        Assert.Equal(403, error.Status);
        Assert.Contains("no-legal", error.Message, StringComparison.Ordinal);
    }

    private IReadOnlyList<TenantRule> Compile(string json)
    {
        using var document = JsonDocument.Parse(json);
        Assert.True(RuleSetCompiler.TryParse(document.RootElement, _catalog, out var rules, out var errors), string.Join("; ", errors));
        return rules;
    }
}
