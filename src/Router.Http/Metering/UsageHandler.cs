using System.Globalization;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Router.Core.Chat;
using Router.Core.Metering;
using Router.Http.Auth;
using Router.Http.Errors;

namespace Router.Http.Metering;

/// <summary><c>GET /v1/usage?from=&amp;to=&amp;group_by=</c>: the caller's tenant's usage, totals and groups.</summary>
/// <remarks>A report reads up to a year of rows, so it counts against the key's requests per minute like a chat request:
/// a key past its limit gets the same 429 before any row is read.</remarks>
public sealed class UsageHandler(CallerAuthentication authentication, IUsageLedger ledger, ITenantPolicyStore policies, RequestLimiter limiter, TimeProvider time)
{
    private const int MaxDays = 366;
    private const string InvalidValue = "invalid_value";

    /// <summary>Handles the request and writes the response.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        RouterHttpContext.Begin(context, time);
        var caller = await authentication.AuthenticateAsync(context);
        if (caller is null)
        {
            await ErrorResponse.WriteAsync(context, RouterError.InvalidApiKey());
            return;
        }

        if (limiter.TryAcquireRequest(await policies.GetAsync(caller.TenantId, context.RequestAborted), caller) is { } limited)
        {
            await ErrorResponse.WriteAsync(context, limited);
            return;
        }

        var query = context.Request.Query;
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        // Without 'from', the month of 'to' (the current month by default): "?to=2026-11-30" is November's usage.
        var toValid = TryDate(query["to"], today, out var to);
        if (!toValid || !TryDate(query["from"], new DateOnly(to.Year, to.Month, 1), out var from))
        {
            await ErrorResponse.WriteAsync(context, RouterError.InvalidRequest("'from' and 'to' must be ISO dates (yyyy-MM-dd).", toValid ? "from" : "to", InvalidValue));
            return;
        }

        if (to < from || to.DayNumber - from.DayNumber >= MaxDays)
        {
            await ErrorResponse.WriteAsync(context, RouterError.InvalidRequest($"'to' must not be before 'from', and the range must be at most {MaxDays} days.", "to", InvalidValue));
            return;
        }

        if (!UsageReport.TryParseGrouping(query["group_by"].ToString(), out var grouping))
        {
            await ErrorResponse.WriteAsync(context, RouterError.InvalidRequest("'group_by' must be day, model, task or tier.", "group_by", InvalidValue));
            return;
        }

        var (totals, groups) = await UsageReport.AggregateAsync(ledger.QueryAsync(caller.TenantId, from, to, context.RequestAborted), grouping, context.RequestAborted);
        var document = new UsageDocument(
            "usage",
            caller.TenantId,
            from.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            to.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            UsageFigures.From(null, totals),
            groups.Select(g => UsageFigures.From(g.Key, g.Totals)).ToArray());
        context.Response.ContentType = "application/json";
        await System.Text.Json.JsonSerializer.SerializeAsync(context.Response.Body, document, RouterHttpJsonContext.Default.UsageDocument, context.RequestAborted);
    }

    private static bool TryDate(string? text, DateOnly fallback, out DateOnly date)
    {
        if (string.IsNullOrEmpty(text))
        {
            date = fallback;
            return true;
        }

        return DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date);
    }
}

/// <summary>The <c>/v1/usage</c> answer.</summary>
public sealed record UsageDocument(
    [property: JsonPropertyName("object")] string Kind,
    [property: JsonPropertyName("tenant")] string Tenant,
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("to")] string To,
    [property: JsonPropertyName("totals")] UsageFigures Totals,
    [property: JsonPropertyName("groups")] IReadOnlyList<UsageFigures> Groups);

/// <summary>Cache hits by kind.</summary>
public sealed record CacheHits([property: JsonPropertyName("exact")] long Exact, [property: JsonPropertyName("semantic")] long Semantic);

/// <summary>Totals of a set of requests.</summary>
public sealed record UsageFigures
{
    [JsonPropertyName("key"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Key { get; init; }
    [JsonPropertyName("requests")] public long Requests { get; init; }
    [JsonPropertyName("prompt_tokens")] public long PromptTokens { get; init; }
    [JsonPropertyName("completion_tokens")] public long CompletionTokens { get; init; }
    [JsonPropertyName("cost_usd")] public decimal CostUsd { get; init; }
    [JsonPropertyName("baseline_cost_usd")] public decimal BaselineCostUsd { get; init; }
    [JsonPropertyName("savings_usd")] public decimal SavingsUsd { get; init; }
    [JsonPropertyName("savings_pct")] public decimal SavingsPct { get; init; }
    [JsonPropertyName("fees_usd")] public decimal FeesUsd { get; init; }
    [JsonPropertyName("billed_usd")] public decimal BilledUsd { get; init; }
    [JsonPropertyName("cache_hits")] public required CacheHits CacheHits { get; init; }
    [JsonPropertyName("fallbacks")] public long Fallbacks { get; init; }
    [JsonPropertyName("errors")] public long Errors { get; init; }
    [JsonPropertyName("audited")] public long Audited { get; init; }
    [JsonPropertyName("audit_score_mean"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public double? AuditScoreMean { get; init; }

    internal static UsageFigures From(string? key, UsageTotals t) => new()
    {
        Key = key,
        Requests = t.Requests,
        PromptTokens = t.PromptTokens,
        CompletionTokens = t.CompletionTokens,
        CostUsd = t.CostUsd,
        BaselineCostUsd = t.BaselineCostUsd,
        SavingsUsd = t.SavingsUsd,
        SavingsPct = t.SavingsPct,
        FeesUsd = t.FeesUsd,
        BilledUsd = t.BilledUsd,
        CacheHits = new CacheHits(t.ExactCacheHits, t.SemanticCacheHits),
        Fallbacks = t.Fallbacks,
        Errors = t.Errors,
        Audited = t.Audited,
        AuditScoreMean = t.AuditScoreMean,
    };
}
