using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Router.Core.Analysis;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Pipeline;
using Router.Http.Auth;
using Router.Http.Chat;
using Router.Http.Errors;

namespace Router.Http.Routing;

/// <summary><c>POST /v1/route</c>: the same body as a chat completion; analyses and routes it, says whether the cache
/// would answer it, and explains the decision a miss would follow, without calling a model.</summary>
public sealed class RoutePreviewHandler(ChatRequestReader reader, ChatPipeline pipeline)
{
    /// <summary>Handles the request and writes the response.</summary>
    public Task HandleAsync(HttpContext context) => reader.ReadAsync(context, async (requestContext, request) =>
        {
            var (prepared, failure) = await pipeline.AdmitAndPrepareAsync(requestContext, request, context.RequestAborted);
            if (prepared is null)
            {
                await ErrorResponse.WriteAsync(context, failure!);
                return;
            }

            var (profile, decision, _, _) = prepared;
            var (cacheStatus, similarity) = await pipeline.PreviewCacheAsync(requestContext, request, prepared, context.RequestAborted);
            var preview = new RoutePreview
            {
                RequestId = requestContext.RequestId,
                Task = profile.Task.Type.ToWireName(),
                TaskConfidence = Math.Round(profile.Task.Confidence, 3),
                RunnerUp = profile.Task.RunnerUp.ToWireName(),
                Complexity = profile.Complexity ?? 5,
                ComplexitySignals = profile.ComplexitySignals,
                Risk = new RiskPreview(
                    profile.Risk.Level.ToWireName(),
                    profile.Risk.Categories.Select(c => c.ToWireName()).ToArray(),
                    profile.Risk.Evidence.Select(e => $"{e.Rule}: {e.Match}").ToArray()),
                PromptTokens = profile.PromptTokens,
                ExpectedOutputTokens = profile.ExpectedOutputTokens,
                Language = profile.Language,
                Cache = new CachePreview(cacheStatus, similarity is { } s ? Math.Round(s, 4) : null),
                Decision = new DecisionPreview(
                    decision.Tier.ToWire(),
                    decision.Model.Id,
                    decision.Candidates.Select(m => m.Id).ToArray(),
                    decision.Reasons,
                    decision.RulesFired,
                    Math.Round(decision.Quality, 3),
                    Math.Round(decision.EffectiveComplexity, 2)),
                EstimatedCostUsd = decision.EstimatedCostUsd,
                BaselineCostUsd = decision.BaselineCostUsd,
            };
            context.Response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(context.Response.Body, preview, RouterHttpJsonContext.Default.RoutePreview, context.RequestAborted);
        });
}

/// <summary>The <c>/v1/route</c> answer.</summary>
public sealed record RoutePreview
{
    [JsonPropertyName("request_id")] public required string RequestId { get; init; }
    [JsonPropertyName("task")] public required string Task { get; init; }
    [JsonPropertyName("task_confidence")] public double TaskConfidence { get; init; }
    [JsonPropertyName("runner_up")] public string? RunnerUp { get; init; }
    [JsonPropertyName("complexity")] public int Complexity { get; init; }
    [JsonPropertyName("complexity_signals")] public IReadOnlyDictionary<string, double>? ComplexitySignals { get; init; }
    [JsonPropertyName("risk")] public required RiskPreview Risk { get; init; }
    [JsonPropertyName("prompt_tokens")] public int PromptTokens { get; init; }
    [JsonPropertyName("expected_output_tokens")] public int ExpectedOutputTokens { get; init; }
    [JsonPropertyName("language")] public string? Language { get; init; }
    [JsonPropertyName("cache")] public required CachePreview Cache { get; init; }
    [JsonPropertyName("decision")] public required DecisionPreview Decision { get; init; }
    [JsonPropertyName("estimated_cost_usd")] public decimal EstimatedCostUsd { get; init; }
    [JsonPropertyName("baseline_cost_usd")] public decimal BaselineCostUsd { get; init; }
}

/// <summary>Risk in the route answer.</summary>
public sealed record RiskPreview(
    [property: JsonPropertyName("level")] string Level,
    [property: JsonPropertyName("categories")] IReadOnlyList<string> Categories,
    [property: JsonPropertyName("evidence")] IReadOnlyList<string> Evidence);

/// <summary>Cache status in the route answer: what the cache would do with this request now (<c>miss</c>, <c>exact</c>,
/// <c>semantic</c> or <c>bypass</c>); the similarity of a semantic hit, else null (always written).</summary>
public sealed record CachePreview(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("similarity"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Similarity);

/// <summary>The decision in the route answer.</summary>
public sealed record DecisionPreview(
    [property: JsonPropertyName("tier")] string Tier,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("candidates")] IReadOnlyList<string> Candidates,
    [property: JsonPropertyName("reasons")] IReadOnlyList<string> Reasons,
    [property: JsonPropertyName("rules_fired")] IReadOnlyList<string> RulesFired,
    [property: JsonPropertyName("quality")] double Quality,
    [property: JsonPropertyName("effective_complexity")] double EffectiveComplexity);
