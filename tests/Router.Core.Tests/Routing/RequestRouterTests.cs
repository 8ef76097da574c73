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
    public void A_request_with_reasoning_effort_keeps_to_the_models_that_accept_it()
    {
        var options = ModelCatalogTests.Options();
        options.Models["mid"].SupportsReasoningEffort = true;
        var catalog = new ModelCatalog(options);
        var router = new RequestRouter(catalog, new RoutingTable(Options.Create(new RoutingOptions())), Options.Create(new RoutingOptions()), _weights);
        var request = Request(extra: ",\"reasoning_effort\":\"low\"");
        Assert.True(ModelRequest.TryResolve(catalog, "auto", out var auto, out _));

        Assert.True(router.TryDecide(new RuleInput(Profiles.Of(TaskType.Chat, 1), Context(), request), auto, TenantPolicy.Default("acme"), out var decision, out var error), error?.Message);

        Assert.Equal(["mid"], decision.Candidates.Select(m => m.Id));
        Assert.Contains(decision.Reasons, r => r.StartsWith("catalog: no capable economy model", StringComparison.Ordinal));
        Assert.Equal(ModelFeatures.None, Request().Features);
    }

    [Theory]
    [InlineData(",\"reasoning_effort\":\"high\"", "reasoning_effort")]
    [InlineData(",\"prediction\":{\"type\":\"content\",\"content\":\"x\"}", "prediction")]
    public void With_no_model_accepting_a_parameter_the_error_names_it(string extra, string param)
    {
        var request = Request(extra: extra);
        Assert.True(ModelRequest.TryResolve(_catalog, "auto", out var auto, out _));

        Assert.False(Router().TryDecide(new RuleInput(Profiles.Of(TaskType.Chat, 1), Context(), request), auto, TenantPolicy.Default("acme"), out _, out var error));

        Assert.Equal(400, error.Status);
        Assert.Equal(param, error.Param);
        Assert.Equal("unsupported_value", error.Code);
        Assert.Contains(param, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sampling_parameters_and_logprobs_skip_models_that_refuse_them_but_a_pinned_model_is_sent_them()
    {
        var options = ModelCatalogTests.Options();
        options.Models["small"].SupportsSamplingParameters = false;
        options.Models["small"].SupportsLogprobs = false;
        options.Models["cheap"] = new ModelOptions { Provider = "sim", Tier = ModelTier.Economy, InputCostPerMillion = 0.2m, OutputCostPerMillion = 0.8m };
        var catalog = new ModelCatalog(options);
        var router = new RequestRouter(catalog, new RoutingTable(Options.Create(new RoutingOptions())), Options.Create(new RoutingOptions()), _weights);
        Assert.True(ModelRequest.TryResolve(catalog, "auto", out var auto, out _));
        Assert.True(ModelRequest.TryResolve(catalog, "small", out var pinned, out _));

        foreach (var extra in (string[])[",\"temperature\":0.2", ",\"top_p\":0.9", ",\"logprobs\":true", ",\"top_logprobs\":2"])
        {
            var request = Request(extra: extra);
            Assert.True(router.TryDecide(new RuleInput(Profiles.Of(TaskType.Chat, 1), Context(), request), auto, TenantPolicy.Default("acme"), out var routed, out _), extra);
            Assert.DoesNotContain(routed.Candidates, m => m.Id == "small");
            Assert.Equal("cheap", routed.Model.Id);

            // Named by the client: that model first, as sent, failing over only to its tier's models that accept it.
            Assert.True(router.TryDecide(new RuleInput(Profiles.Of(TaskType.Chat, 1), Context(), request), pinned, TenantPolicy.Default("acme"), out var named, out _), extra);
            Assert.Equal(["small", "cheap"], named.Candidates.Select(m => m.Id));
        }

        // A temperature of null asks for nothing.
        Assert.Equal(ModelFeatures.None, Request(extra: ",\"temperature\":null").Features);
    }

    [Theory]
    [InlineData(",\"temperature\":1")]
    [InlineData(",\"temperature\":1.0")]
    [InlineData(",\"top_p\":1")]
    [InlineData(",\"presence_penalty\":0")]
    [InlineData(",\"frequency_penalty\":0.0")]
    [InlineData(",\"temperature\":1,\"top_p\":1,\"presence_penalty\":0,\"frequency_penalty\":0")]
    public void Sampling_parameters_at_their_defaults_keep_a_reasoning_model_a_candidate(string sampling)
    {
        // OpenAI's reasoning models refuse any other value, but accept the default ("Only the default (1) value is
        // supported"), which many clients send on every request.
        var options = ModelCatalogTests.Options();
        options.Models["mid"].SupportsReasoningEffort = true;
        options.Models["mid"].SupportsSamplingParameters = false;
        options.Models["mid"].SupportsLogprobs = false;
        var catalog = new ModelCatalog(options);
        var router = new RequestRouter(catalog, new RoutingTable(Options.Create(new RoutingOptions())), Options.Create(new RoutingOptions()), _weights);
        var request = Request(extra: ",\"reasoning_effort\":\"low\"" + sampling);
        Assert.True(ModelRequest.TryResolve(catalog, "auto", out var auto, out _));

        Assert.Equal(ModelFeatures.ReasoningEffort, request.Features);
        Assert.True(router.TryDecide(new RuleInput(Profiles.Of(TaskType.Chat, 1), Context(), request), auto, TenantPolicy.Default("acme"), out var decision, out var error), error?.Message);
        Assert.Equal(["mid"], decision.Candidates.Select(m => m.Id));

        // Any other value is a sampling parameter the reasoning model refuses.
        foreach (var other in (string[])[",\"temperature\":0.7", ",\"top_p\":0.99", ",\"presence_penalty\":0.5", ",\"frequency_penalty\":-0.1"])
        {
            Assert.Equal(ModelFeatures.SamplingParameters, Request(extra: other).Features);
        }
    }

    [Fact]
    public void A_model_the_client_names_that_cannot_serve_is_refused_for_what_it_lacks_not_for_a_field_it_would_be_sent()
    {
        // The named model gets reasoning_effort as sent (its provider judges it); what keeps it from serving is its context.
        var request = Request(model: "small", extra: ",\"reasoning_effort\":\"low\",\"max_tokens\":200000");
        Assert.True(ModelRequest.TryResolve(_catalog, "small", out var pinned, out _));

        Assert.False(Router().TryDecide(new RuleInput(Profiles.Of(TaskType.Chat, 1), Context(), request), pinned, TenantPolicy.Default("acme"), out _, out var error));

        Assert.Equal("context_length_exceeded", error.Code);
        Assert.Equal("messages", error.Param);
        Assert.DoesNotContain("reasoning_effort", error.Message, StringComparison.Ordinal);

        // A tenant's pin is held to every capability, and is refused for the field its model does not accept.
        var (ok, _, pinnedByRule) = TryDecide(_catalog, Profiles.Of(TaskType.Chat, 1), rules: """[{"name":"pin","when":{},"then":{"pin_model":"small"}}]""", extra: ",\"reasoning_effort\":\"low\"");
        Assert.False(ok);
        Assert.Equal("reasoning_effort", pinnedByRule.Param);
        Assert.Equal("unsupported_value", pinnedByRule.Code);
    }

    [Fact]
    public void With_no_model_sampling_the_error_names_the_field_sent_at_another_value_than_its_default()
    {
        var options = ModelCatalogTests.Options();
        foreach (var model in options.Models.Values)
        {
            model.SupportsSamplingParameters = false;
        }

        var catalog = new ModelCatalog(options);
        var router = new RequestRouter(catalog, new RoutingTable(Options.Create(new RoutingOptions())), Options.Create(new RoutingOptions()), _weights);
        var request = Request(extra: ",\"frequency_penalty\":0,\"temperature\":1,\"top_p\":0.5");
        Assert.True(ModelRequest.TryResolve(catalog, "auto", out var auto, out _));

        Assert.False(router.TryDecide(new RuleInput(Profiles.Of(TaskType.Chat, 1), Context(), request), auto, TenantPolicy.Default("acme"), out _, out var error));

        Assert.Equal("top_p", error.Param);
        Assert.Equal("unsupported_value", error.Code);
        Assert.Contains("'top_p'", error.Message, StringComparison.Ordinal);
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
        _weights.TryUpdate(RoutingWeights.Empty with { Version = 2, DemotedModels = new Dictionary<string, string> { ["chat/low/small"] = "3 of 10 audits worse" } });
        var router = new RequestRouter(catalog, new RoutingTable(Options.Create(routing)), Options.Create(routing), _weights);
        Assert.True(ModelRequest.TryResolve(catalog, "auto", out var auto, out _));

        Assert.True(router.TryDecide(new RuleInput(Profiles.Of(TaskType.Chat, 1), Context(), Request()), auto, TenantPolicy.Default("acme"), out var decision, out _));

        Assert.Equal(["small2", "small", "mid"], decision.Candidates.Select(m => m.Id));
        Assert.Contains(decision.Reasons, r => r.Contains("small demoted", StringComparison.Ordinal));
    }

    [Fact]
    public void A_demotion_holds_only_in_the_task_and_band_it_was_learned_in()
    {
        var options = ModelCatalogTests.Options();
        options.Models["small2"] = new ModelOptions { Provider = "sim", Tier = ModelTier.Economy, InputCostPerMillion = 0.2m, OutputCostPerMillion = 0.8m };
        var catalog = new ModelCatalog(options);
        var routing = new RoutingOptions();
        _weights.TryUpdate(RoutingWeights.Empty with { Version = 2, DemotedModels = new Dictionary<string, string> { ["extraction/high/small"] = "weak at long extractions" } });
        var router = new RequestRouter(catalog, new RoutingTable(Options.Create(routing)), Options.Create(routing), _weights);
        Assert.True(ModelRequest.TryResolve(catalog, "router/economy", out var economy, out _));

        Assert.Equal(["small2", "small", "mid"], Candidates(TaskType.Extraction, 8));
        Assert.Equal(["small", "small2", "mid"], Candidates(TaskType.Extraction, 2));
        Assert.Equal(["small", "small2", "mid"], Candidates(TaskType.Chat, 8));

        string[] Candidates(TaskType task, double complexity)
        {
            Assert.True(router.TryDecide(new RuleInput(Profiles.Of(task, complexity), Context(), Request("router/economy")), economy, TenantPolicy.Default("acme"), out var decision, out var error), error?.Message);
            return decision.Candidates.Select(m => m.Id).ToArray();
        }
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

    // A catalog where only the economy and premium tiers have a vision model, and two economy models on two providers.
    private static ModelCatalog VisionCatalog(bool premiumVision)
    {
        var options = ModelCatalogTests.Options();
        options.Providers["eu"] = new ProviderOptions { Endpoint = "http://127.0.0.1:9/eu" };
        options.Models["small"].SupportsVision = true;
        options.Models["small-eu"] = new ModelOptions { Provider = "eu", Tier = ModelTier.Economy, InputCostPerMillion = 0.2m, OutputCostPerMillion = 0.8m };
        options.Models["big"].SupportsVision = premiumVision;
        return new ModelCatalog(options);
    }

    private (bool Ok, RoutingDecision Decision, RouterError Error) TryDecide(ModelCatalog catalog, RequestProfile profile, string model = "auto", string rules = "[]", string extra = "")
    {
        using var document = JsonDocument.Parse(rules);
        Assert.True(RuleSetCompiler.TryParse(document.RootElement, catalog, out var compiled, out var errors), string.Join("; ", errors));
        var options = new RoutingOptions();
        var router = new RequestRouter(catalog, new RoutingTable(Options.Create(options)), Options.Create(options), _weights);
        Assert.True(ModelRequest.TryResolve(catalog, model, out var modelRequest, out _));
        var ok = router.TryDecide(new RuleInput(profile, Context(), Request(model, extra)), modelRequest, TenantPolicy.Default("acme") with { Rules = compiled }, out var decision, out var error);
        return (ok, decision, error);
    }

    [Fact]
    public void A_required_tier_is_never_dropped_to_a_cheaper_one_for_a_capability()
    {
        var catalog = VisionCatalog(premiumVision: false);
        var image = Profiles.Of(TaskType.KnowledgeQa, 2, images: true);

        var rule = TryDecide(catalog, image, rules: """[{"name":"all-premium","when":{},"then":{"min_tier":"premium"}}]""");
        var alias = TryDecide(catalog, image, model: "router/premium");
        var risky = TryDecide(catalog, Profiles.Of(TaskType.Advice, 2, RiskLevel.High, [RiskCategory.SelfHarm], images: true));
        var free = TryDecide(catalog, image);

        foreach (var (ok, _, error) in new[] { rule, alias })
        {
            Assert.False(ok);
            Assert.Equal("unsupported_value", error.Code);
            Assert.Contains("outside the tiers", error.Message, StringComparison.Ordinal);
            Assert.Contains("small", error.Message, StringComparison.Ordinal);
        }

        // With no bound, the nearest capable tier still serves; the risk floor raises the tier but yields to the catalog
        // rather than refusing a high-risk question that comes with an image.
        Assert.True(free.Ok);
        Assert.Equal("small", free.Decision.Model.Id);
        Assert.True(risky.Ok);
        Assert.Equal("small", risky.Decision.Model.Id);
        Assert.Contains(risky.Decision.Reasons, r => r.StartsWith("catalog: no capable premium model", StringComparison.Ordinal));
    }

    [Fact]
    public void A_max_tier_holds_for_failover_and_for_capabilities()
    {
        var catalog = VisionCatalog(premiumVision: true);
        const string Rules = """[{"name":"cheap","when":{},"then":{"max_tier":"economy"}}]""";

        var text = TryDecide(catalog, Profiles.Of(TaskType.Chat, 2), rules: Rules);
        var standardCap = TryDecide(catalog, Profiles.Of(TaskType.Chat, 2, images: true), rules: """[{"name":"mid","when":{},"then":{"max_tier":"standard"}}]""");

        Assert.True(text.Ok);
        Assert.All(text.Decision.Candidates, m => Assert.Equal(ModelTier.Economy, m.Tier));
        Assert.True(standardCap.Ok);
        Assert.All(standardCap.Decision.Candidates, m => Assert.True(m.Tier <= ModelTier.Standard, m.Id));
    }

    [Fact]
    public void A_rule_pin_holds_without_failover_to_another_model()
    {
        var catalog = VisionCatalog(premiumVision: true);

        var (ok, decision, _) = TryDecide(catalog, Profiles.Of(TaskType.Chat, 2), rules: """[{"name":"eu","when":{},"then":{"pin_model":"small-eu"}}]""");
        var clientPin = TryDecide(catalog, Profiles.Of(TaskType.Chat, 2), model: "small-eu");

        Assert.True(ok);
        Assert.Equal(["small-eu"], decision.Candidates.Select(m => m.Id));
        Assert.True(decision.PinnedByRule);
        // A client's own pin may still fail over within its tier, as the contract says.
        Assert.Equal(["small-eu", "small"], clientPin.Decision.Candidates.Select(m => m.Id));
        Assert.False(clientPin.Decision.PinnedByRule);
    }

    [Fact]
    public void A_pinned_model_without_a_capability_is_named_with_the_models_that_have_it()
    {
        var catalog = VisionCatalog(premiumVision: true);

        var (ok, _, error) = TryDecide(catalog, Profiles.Of(TaskType.Chat, 2, images: true), model: "small-eu");

        Assert.False(ok);
        Assert.Equal("Model small-eu does not support images. Models that can: small, big.", error.Message);
        Assert.Equal(("messages", "unsupported_value"), (error.Param, error.Code));
    }

    [Fact]
    public void Tool_calls_in_the_history_need_a_tool_capable_model_even_without_a_tools_field()
    {
        var options = ModelCatalogTests.Options();
        options.Models["small"].SupportsTools = false;
        var catalog = new ModelCatalog(options);
        var router = new RequestRouter(catalog, new RoutingTable(Options.Create(new RoutingOptions())), Options.Create(new RoutingOptions()), _weights);
        Assert.True(ModelRequest.TryResolve(catalog, "auto", out var auto, out _));
        RoutingDecision DecideFor(string json)
        {
            Assert.True(ChatRequestParser.TryParse(Encoding.UTF8.GetBytes(json), out var request, out var parseError), parseError?.Message);
            Assert.True(router.TryDecide(new RuleInput(Profiles.Of(TaskType.Chat, 2), Context(), request), auto, TenantPolicy.Default("acme"), out var decision, out var error), error?.Message);
            return decision;
        }

        var plain = DecideFor("""{"model":"auto","messages":[{"role":"user","content":"weather in Oslo?"}]}""");
        var history = DecideFor("""{"model":"auto","messages":[{"role":"user","content":"weather in Oslo?"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"4 C"}]}""");

        Assert.Equal("small", plain.Model.Id);
        Assert.DoesNotContain(history.Candidates, m => m.Id == "small");
    }

    [Fact]
    public void A_complexity_cap_holds_at_any_quality_setting()
    {
        const string Rules = """[{"name":"batch","when":{},"then":{"cap_complexity":3}}]""";

        foreach (var quality in new[] { "0.5", "0.75", "1" })
        {
            var (ok, decision, _) = TryDecide(_catalog, Profiles.Of(TaskType.Coding, 8), rules: Rules, extra: $",\"router\":{{\"quality\":{quality}}}");
            Assert.True(ok);
            Assert.Equal(ModelTier.Economy, decision.Tier);
        }
    }

    [Fact]
    public void Learned_floors_keep_the_knob_monotone_across_bands()
    {
        // A floor learned for low-complexity chat only: a higher knob setting moves the request into the medium band,
        // which has no floor of its own, and must not land on a cheaper tier for it.
        _weights.TryUpdate(new RoutingWeights(1, DateTimeOffset.UnixEpoch,
            new Dictionary<string, TierAdjustment> { [RoutingWeights.Key(TaskType.Chat, ComplexityBand.Low)] = new(ModelTier.Standard, "audited") },
            new Dictionary<string, string>()));

        var previous = ModelTier.Economy;
        for (var q = 0.0; q <= 1.0001; q += 0.05)
        {
            var (ok, decision, _) = TryDecide(_catalog, Profiles.Of(TaskType.Chat, 2), extra: $",\"router\":{{\"quality\":{q.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)}}}");
            Assert.True(ok);
            Assert.True(decision.Tier >= previous, $"q={q}: {decision.Tier} < {previous}");
            previous = decision.Tier;
        }
    }

    [Fact]
    public void A_raise_names_the_band_whose_floor_raised_it_for_probes_to_be_filed_in()
    {
        _weights.TryUpdate(new RoutingWeights(1, DateTimeOffset.UnixEpoch,
            new Dictionary<string, TierAdjustment> { [RoutingWeights.Key(TaskType.Chat, ComplexityBand.Low)] = new(ModelTier.Standard, "audited") },
            new Dictionary<string, string>()));

        var raised = 0;
        for (var q = 0.0; q <= 1.0001; q += 0.05)
        {
            var (ok, decision, _) = TryDecide(_catalog, Profiles.Of(TaskType.Chat, 2), extra: $",\"router\":{{\"quality\":{q.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)}}}");
            Assert.True(ok);
            if (decision.RaisedFrom is not null)
            {
                raised++;
                Assert.Equal(ComplexityBand.Low, decision.RaisedIn);
            }
            else
            {
                Assert.Null(decision.RaisedIn);
            }
        }

        Assert.True(raised > 0);
    }

    private IReadOnlyList<TenantRule> Compile(string json)
    {
        using var document = JsonDocument.Parse(json);
        Assert.True(RuleSetCompiler.TryParse(document.RootElement, _catalog, out var rules, out var errors), string.Join("; ", errors));
        return rules;
    }
}
