using System.Globalization;
using Microsoft.Extensions.Options;
using Router.Core.Analysis;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Metering;
using Router.Core.Weights;

namespace Router.Core.Routing;

/// <summary>Decides which models serve a request: tenant rules, the routing table under the cost/quality knob, learned
/// weights, risk floors and capabilities, in that order. Local and allocation-light: no network call.</summary>
public sealed class RequestRouter(
    ModelCatalog catalog,
    RoutingTable table,
    IOptions<RoutingOptions> options,
    IRoutingWeightsSource weights)
{
    /// <summary>Routes <paramref name="input"/>; returns false with a 400/403 error when the request cannot be served.</summary>
    public bool TryDecide(RuleInput input, ModelRequest modelRequest, TenantPolicy policy, out RoutingDecision decision, out RouterError error)
    {
        decision = null!;
        error = null!;
        var settings = options.Value;
        var profile = input.Profile;
        var reasons = new List<string>(6);
        var fired = new List<string>();

        ModelTier? minTier = null, maxTier = null;
        CatalogModel? rulePin = null;
        int? cap = null;
        bool disableCache = false, forceAudit = false;
        foreach (var rule in policy.Rules)
        {
            if (!rule.Matches(input))
            {
                continue;
            }

            fired.Add(rule.Name);
            var then = rule.Actions;
            if (then.Deny is { } deny)
            {
                error = new RouterError(403, "permission_denied", "denied_by_rule", $"Denied by tenant rule '{rule.Name}': {deny}");
                return false;
            }

            if (rule.MinTier is { } min && (minTier is null || min > minTier))
            {
                minTier = min;
                reasons.Add($"rule:{rule.Name} min tier {min.ToWire()}");
            }

            if (rule.MaxTier is { } max && (maxTier is null || max < maxTier))
            {
                maxTier = max;
                reasons.Add($"rule:{rule.Name} max tier {max.ToWire()}");
            }

            if (then.CapComplexity is { } c && (cap is null || c < cap))
            {
                cap = c;
                reasons.Add($"rule:{rule.Name} cap complexity {c}");
            }

            if (then.PinModel is { } pin && rulePin is null && catalog.TryGet(pin, out var pinned))
            {
                rulePin = pinned;
                reasons.Add($"rule:{rule.Name} pin {pinned.Id}");
            }

            if (then.DisableCache == true)
            {
                disableCache = true;
                reasons.Add($"rule:{rule.Name} cache off");
            }

            if (then.ForceAudit == true)
            {
                forceAudit = true;
                reasons.Add($"rule:{rule.Name} audit");
            }
        }

        var quality = input.Request.RouterOptions.Quality ?? policy.Quality ?? settings.DefaultQuality;
        var complexity = profile.ComplexityScore ?? profile.Complexity ?? 5;
        var effective = Math.Clamp(complexity + (quality - 0.5) * 2 * settings.KnobRange, 1, 10);

        // A cap bounds what the table sees after the knob: "batch jobs cheap" stays cheap at any quality setting.
        if (cap is { } capped && effective > capped)
        {
            effective = capped;
        }

        var task = profile.Task.Type;
        var risk = profile.Risk.Level;

        var riskFloor = risk switch
        {
            RiskLevel.High => settings.HighRiskMinimumTier,
            RiskLevel.Medium => settings.MediumRiskMinimumTier,
            _ => ModelTier.Economy,
        };

        ModelTier tier;
        ModelTier? raisedFrom = null;
        ComplexityBand? raisedIn = null;
        CatalogModel? pinnedModel = rulePin ?? modelRequest.Pinned;
        if (rulePin is not null)
        {
            tier = rulePin.Tier;
        }
        else if (modelRequest.Pinned is { } clientPin)
        {
            tier = clientPin.Tier;
            reasons.Add($"pinned by request: {clientPin.Id}");
        }
        else
        {
            if (modelRequest.Kind == ModelRequestKind.Tier)
            {
                tier = modelRequest.Tier!.Value;
                reasons.Add($"tier requested: {tier.ToWire()}");
            }
            else
            {
                var (tableTier, row) = table.Lookup(task, effective, risk);
                tier = tableTier;
                reasons.Add(string.Create(CultureInfo.InvariantCulture, $"table: {row} (complexity {complexity:0.#}, knob {quality:0.##} -> {effective:0.#})"));
                if (LearnedFloor(task, ComplexityBands.Of(effective)) is { } adjustment && adjustment.Floor > tier)
                {
                    reasons.Add($"weights: {adjustment.Key} {adjustment.Evidence} -> {adjustment.Floor.ToWire()}");
                    raisedFrom = tier;
                    raisedIn = adjustment.Band;
                    tier = adjustment.Floor;
                }
            }

            var floor = riskFloor;
            if (tier < floor)
            {
                tier = floor;
                var categories = string.Join(",", profile.Risk.Categories.Select(c => c.ToWireName()));
                reasons.Add($"risk: {risk.ToWireName()}{(categories.Length > 0 ? " (" + categories + ")" : "")} -> at least {floor.ToWire()}");
            }
        }

        if (maxTier is { } ceiling && tier > ceiling)
        {
            tier = ceiling;
        }

        if (minTier is { } minimum && tier < minimum)
        {
            tier = minimum;
        }

        if (pinnedModel is not null && pinnedModel.Tier != tier)
        {
            // A tenant's tier bounds outrank the client's pin.
            reasons.Add($"pinned {pinnedModel.Id} is {pinnedModel.Tier.ToWire()}; tenant rules require {tier.ToWire()}");
            pinnedModel = null;
        }

        // The tiers the decision may use, whatever capabilities or failover would prefer: never below a tenant's
        // min_tier or the tier the client asked for, never above a tenant's max_tier (min_tier outranks it). The risk
        // floor has raised the tier already but is no bound: where the catalog has no capable model at or above it, the
        // nearest capable tier below serves rather than refusing, say, a self-harm question that comes with an image.
        var lowest = ModelTier.Economy;
        if (rulePin is null && modelRequest.Pinned is null && modelRequest.Kind == ModelRequestKind.Tier)
        {
            lowest = modelRequest.Tier!.Value;
        }

        if (minTier is { } required && required > lowest)
        {
            lowest = required;
        }

        var highest = maxTier is { } ceilingTier && ceilingTier >= lowest ? ceilingTier : ModelTier.Premium;
        if (minTier is { } atLeast && maxTier is { } atMost && atLeast > atMost)
        {
            highest = atLeast;
        }

        var demoted = weights.Current.DemotedIn(task, ComplexityBands.Of(effective));
        var candidates = Candidates(input, pinnedModel, rulePin is not null, demoted, ref tier, lowest, highest, reasons);
        if (candidates.Count == 0)
        {
            error = NoCapableModel(input, pinnedModel, rulePin is not null, lowest, highest);
            return false;
        }

        var expectedOutput = profile.ExpectedOutputTokens;
        decision = new RoutingDecision
        {
            Tier = candidates[0].Tier,
            Candidates = candidates,
            Reasons = reasons,
            RulesFired = fired,
            Quality = quality,
            Complexity = complexity,
            EffectiveComplexity = effective,
            RaisedFrom = raisedFrom,
            RaisedIn = raisedIn,
            PinnedByRule = rulePin is not null && candidates.Count == 1 && candidates[0] == rulePin,
            CacheDisabled = disableCache,
            ForceAudit = forceAudit,
            EstimatedCostUsd = candidates[0].Cost(profile.PromptTokens, expectedOutput),
            BaselineCostUsd = catalog.Baseline?.Cost(profile.PromptTokens, expectedOutput) ?? 0,
        };
        return true;
    }

    /// <summary>
    /// The learned tier floor for a task at a complexity band, made monotone across bands: a band's floor is at least
    /// that of every band below it. Each band is learned on its own, and without this a higher knob setting could move
    /// a request out of a band with a floor into a higher one without, and so to a cheaper tier.
    /// </summary>
    private (ModelTier Floor, ComplexityBand Band, string Key, string Evidence)? LearnedFloor(TaskType task, ComplexityBand band)
    {
        var current = weights.Current;
        if (current.Adjustments.Count == 0)
        {
            return null;
        }

        (ModelTier Floor, ComplexityBand Band, string Key, string Evidence)? best = null;
        foreach (var b in (ReadOnlySpan<ComplexityBand>)[ComplexityBand.Low, ComplexityBand.Medium, ComplexityBand.High])
        {
            if (b > band)
            {
                break;
            }

            if (current.For(task, b) is { } adjustment && (best is null || adjustment.Floor > best.Value.Floor))
            {
                best = (adjustment.Floor, b, RoutingWeights.Key(task, b), adjustment.Evidence);
            }
        }

        return best;
    }

    // Names what no model in the catalog offers, so the client learns which part of its request to change: the context
    // it needs, images, tools, a JSON schema or streaming (in OpenAI's words, the parameter and an unsupported value).
    private RouterError NoCapableModel(RuleInput input, CatalogModel? pinned, bool strictPin, ModelTier lowest, ModelTier highest)
    {
        var request = input.Request;
        var needed = input.Profile.PromptTokens + (request.MaxTokens ?? 0);
        var models = catalog.Models;
        var lacks = new List<(string What, string Param, Func<CatalogModel, bool> Has)>(4);
        if (input.Profile.HasImages)
        {
            lacks.Add(("images", "messages", m => m.SupportsVision));
        }

        if (request.NeedsTools)
        {
            lacks.Add(("tools", "tools", m => m.SupportsTools));
        }

        if (request.ResponseFormatType == "json_schema")
        {
            lacks.Add(("a JSON schema", "response_format", m => m.SupportsJsonSchema));
        }

        if (request.Stream)
        {
            lacks.Add(("streaming", "stream", m => m.SupportsStreaming));
        }

        // A model the client names is sent the fields only some models accept as they are: it is refused for what it lacks
        // before them.
        var lacksBeforeFeatures = lacks.Count;
        foreach (var (feature, setting) in FeatureSettings)
        {
            if ((request.Features & feature) != 0)
            {
                var param = FeatureParam(request, feature);
                lacks.Add(($"'{param}'", param, m => m.Lacking(feature) == ModelFeatures.None));
            }
        }

        bool Capable(CatalogModel m) => m.ContextWindow >= needed && lacks.All(l => l.Has(m));
        var able = models.Where(Capable).Select(m => m.Id).ToList();
        if (pinned is not null)
        {
            // Name what the pinned model lacks, and which models could serve the request instead.
            var missing = lacks.Take(strictPin ? lacks.Count : lacksBeforeFeatures).FirstOrDefault(l => !l.Has(pinned));
            var instead = able.Count > 0 ? $" Models that can: {string.Join(", ", able)}." : "";
            return missing.What is not null
                ? RouterError.InvalidRequest($"Model {pinned.Id} does not support {missing.What}.{instead}", missing.Param, "unsupported_value")
                : RouterError.InvalidRequest(
                    string.Create(CultureInfo.InvariantCulture, $"Model {pinned.Id} has a context window of {pinned.ContextWindow} tokens and this request needs {needed} (prompt and max_tokens).{instead}"),
                    "messages",
                    "context_length_exceeded");
        }

        if (able.Count > 0)
        {
            // Capable models exist, but not in the tiers this request may use (a tenant rule, the risk floor, the tier asked for).
            var range = lowest == highest ? lowest.ToWire() : $"{lowest.ToWire()} to {highest.ToWire()}";
            return RouterError.InvalidRequest(
                $"No {range} model can serve this request{(lacks.Count > 0 ? " with " + string.Join(", ", lacks.Select(l => l.What)) : "")}; "
                + $"the models that can ({string.Join(", ", able)}) are outside the tiers this request may use.",
                lacks.Count > 0 ? lacks[0].Param : "messages",
                lacks.Count > 0 ? "unsupported_value" : "context_length_exceeded");
        }

        if (input.Profile.HasImages && !models.Any(m => m.SupportsVision))
        {
            return RouterError.InvalidRequest("No catalog model accepts images: remove the image parts or configure a vision model (SupportsVision).", "messages", "unsupported_value");
        }

        if (request.NeedsTools && !models.Any(m => m.SupportsTools))
        {
            return RouterError.InvalidRequest(
                "No catalog model supports tools, which this request uses ('tools', or tool calls in its messages): configure a model with SupportsTools.",
                request.HasTools ? "tools" : "messages", "unsupported_value");
        }

        if (request.ResponseFormatType == "json_schema" && !models.Any(m => m.SupportsJsonSchema))
        {
            return RouterError.InvalidRequest("No catalog model supports response_format json_schema.", "response_format", "unsupported_value");
        }

        if (request.Stream && !models.Any(m => m.SupportsStreaming))
        {
            return RouterError.InvalidRequest("No catalog model supports streaming: send the request with stream false.", "stream", "unsupported_value");
        }

        foreach (var (feature, setting) in FeatureSettings)
        {
            if ((request.Features & feature) != 0 && !models.Any(m => m.Lacking(feature) == ModelFeatures.None))
            {
                var param = FeatureParam(request, feature);
                return RouterError.InvalidRequest($"No catalog model accepts '{param}', which this request sends: leave it out or configure a model with {setting}.", param, "unsupported_value");
            }
        }

        var largest = models.Count == 0 ? 0 : models.Max(m => m.ContextWindow);
        if (needed > largest)
        {
            return RouterError.InvalidRequest(
                string.Create(CultureInfo.InvariantCulture, $"No catalog model can serve this request: it needs {needed} tokens of context (prompt and max_tokens) and the largest context window is {largest}."),
                "messages",
                "context_length_exceeded");
        }

        var features = new[]
        {
            request.NeedsTools ? "tools" : null, input.Profile.HasImages ? "images" : null,
            request.ResponseFormatType == "json_schema" ? "a JSON schema" : null, request.Stream ? "streaming" : null,
        }.OfType<string>().Concat(FeatureSettings.Where(f => (request.Features & f.Feature) != 0).Select(f => $"'{FeatureParam(request, f.Feature)}'")).ToList();
        return RouterError.InvalidRequest(
            string.Create(CultureInfo.InvariantCulture, $"No catalog model can serve this request: it needs {needed} tokens of context")
            + (features.Count > 0 ? " with " + string.Join(", ", features) + ", which no single model offers." : "."),
            "messages",
            features.Count > 0 ? "unsupported_value" : "context_length_exceeded");
    }

    // The features only some models accept, with the model setting that says a model does.
    private static readonly (ModelFeatures Feature, string Setting)[] FeatureSettings =
    [
        (ModelFeatures.ReasoningEffort, "SupportsReasoningEffort"),
        (ModelFeatures.Prediction, "SupportsPrediction"),
        (ModelFeatures.Logprobs, "SupportsLogprobs"),
        (ModelFeatures.SamplingParameters, "SupportsSamplingParameters"),
    ];

    private static readonly string[] SamplingParams = ["frequency_penalty", "presence_penalty", "temperature", "top_p"];

    // The request field that asks for a feature, for an error that names it (the first sampling field it sends at another
    // value than its default).
    private static string FeatureParam(ChatRequest request, ModelFeatures feature) => feature switch
    {
        ModelFeatures.ReasoningEffort => "reasoning_effort",
        ModelFeatures.Prediction => "prediction",
        ModelFeatures.Logprobs => ShapingValue(request, "logprobs") is "true" ? "logprobs" : "top_logprobs",
        _ => SamplingParams.FirstOrDefault(name => ShapingValue(request, name) is { } value
            && !(double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number == ChatRequestParser.SamplingDefault(name)))
            ?? "temperature",
    };

    // The JSON text of a top-level answer-shaping field ("name=value" pairs joined by ';', names sorted), or null.
    private static string? ShapingValue(ChatRequest request, string name)
    {
        var shaping = request.AnswerShapingJson;
        var prefix = name + "=";
        var at = shaping.StartsWith(prefix, StringComparison.Ordinal) ? 0 : shaping.IndexOf(";" + prefix, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var start = (at == 0 ? 0 : at + 1) + prefix.Length;
        var end = shaping.IndexOf(';', start);
        return shaping[start..(end < 0 ? shaping.Length : end)];
    }

    // demoted: the models learned weights put last in this request's (task, band).
    private List<CatalogModel> Candidates(
        RuleInput input, CatalogModel? pinned, bool strictPin, IReadOnlyDictionary<string, string> demoted, ref ModelTier tier, ModelTier lowest, ModelTier highest, List<string> reasons)
    {
        var requirements = ModelRequirements.Of(input.Request, input.Profile);
        bool Fits(CatalogModel m) => requirements.FitIn(m);

        // Features only some models accept (reasoning_effort, prediction, logprobs, sampling parameters): a model without
        // one answers 400, which would end the request instead of failing over.
        bool Capable(CatalogModel m) => requirements.MetBy(m);

        // Capable models of a tier in catalog order, demoted ones last (a loop: this runs on every request).
        List<CatalogModel> InTier(ModelTier t)
        {
            var models = catalog.InTier(t);
            var found = new List<CatalogModel>(models.Count);
            var demotedCount = 0;
            foreach (var model in models)
            {
                if (!Capable(model))
                {
                    continue;
                }

                if (demoted.Count > 0 && demoted.ContainsKey(model.Id))
                {
                    demotedCount++;
                    continue;
                }

                found.Add(model);
            }

            if (demotedCount > 0)
            {
                foreach (var model in models)
                {
                    if (Capable(model) && demoted.ContainsKey(model.Id))
                    {
                        found.Add(model);
                    }
                }
            }

            return found;
        }

        if (pinned is not null)
        {
            // A model the client names is sent the request as it is (its provider says what it refuses); a tenant's pin
            // is no choice of the client's, and is held to every capability.
            if (!(strictPin ? Capable(pinned) : Fits(pinned)))
            {
                reasons.Add($"capability: {pinned.Id} cannot serve this request");
                return [];
            }

            if (strictPin)
            {
                // A tenant's pin (data residency, a contract) holds: that model or nothing, no failover elsewhere.
                return [pinned];
            }

            var sameTier = InTier(pinned.Tier).Where(m => m != pinned);
            return [pinned, .. sameTier];
        }

        var chosen = tier < lowest ? lowest : tier > highest ? highest : tier;
        var found = InTier(chosen);
        if (found.Count == 0)
        {
            // Nearest tier with a capable model within the bounds, going up first so quality never drops silently.
            var order = Enumerable.Range((int)chosen + 1, (int)highest - (int)chosen).Concat(Enumerable.Range((int)lowest, (int)chosen - (int)lowest).Reverse());
            foreach (var t in order.Select(i => (ModelTier)i))
            {
                found = InTier(t);
                if (found.Count > 0)
                {
                    reasons.Add($"catalog: no capable {tier.ToWire()} model -> {t.ToWire()}");
                    chosen = t;
                    break;
                }
            }
        }

        foreach (var model in found.Where(m => demoted.ContainsKey(m.Id)))
        {
            reasons.Add($"weights: {model.Id} demoted ({demoted[model.Id]})");
        }

        tier = chosen;
        if (found.Count > 0 && chosen < highest)
        {
            found.AddRange(InTier(chosen + 1));
        }

        return found;
    }
}
