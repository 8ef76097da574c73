using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Router.Core.Audits;
using Router.Core.Catalog;
using Router.Core.Metering;
using Router.Core.Telemetry;
using Router.Http.Admin;
using Router.Http.Auth;
using Router.Http.Metering;

namespace Router.Http.Dashboard;

/// <summary>The operators' dashboard: <c>GET /dashboard</c> (a self-contained page; a login form until the admin key is
/// given), <c>POST /dashboard/login</c>, <c>POST /dashboard/logout</c> and <c>GET /admin/dashboard/data</c> (the figures
/// the page draws).</summary>
public sealed class DashboardHandler(
    CallerAuthentication authentication,
    IUsageLedger ledger,
    IAuditStore audits,
    RecentDecisions recent,
    IOptionsMonitor<RouterOptions> options,
    TimeProvider time)
{
    /// <summary>Cookie holding proof of the admin key: its expiry and an HMAC of that expiry under the key, never the key.</summary>
    public const string Cookie = "router_admin";

    /// <summary>How long a dashboard sign-in lasts; the server checks it, not only the browser.</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(8);

    private const int MaxLoginFormBytes = 4096;

    private static readonly Microsoft.AspNetCore.Http.Features.FormOptions LoginFormLimits = new()
    {
        BufferBody = false,
        ValueCountLimit = 4,
        KeyLengthLimit = 64,
        ValueLengthLimit = MaxLoginFormBytes,
        MultipartBodyLengthLimit = MaxLoginFormBytes,
    };

    private static readonly Lazy<byte[]> Page = new(() => Resource("dashboard.html"));
    private static readonly Lazy<byte[]> Login = new(() => Resource("login.html"));

    /// <summary>The dashboard page, or the login form.</summary>
    public Task PageAsync(HttpContext context)
    {
        RouterHttpContext.Begin(context, time);
        var authorized = IsAuthorized(context);
        return WriteHtmlAsync(context, authorized ? Page.Value : Login.Value, authorized ? 200 : 401);
    }

    /// <summary>Checks the posted key; sets the cookie and redirects to the dashboard, or shows the form again.</summary>
    public async Task LoginAsync(HttpContext context)
    {
        RouterHttpContext.Begin(context, time);

        // Anyone may post here: the form is read only up to a small size, and anything larger is the login form again.
        Microsoft.AspNetCore.Http.IFormCollection? form = null;
        if (context.Request.HasFormContentType && context.Request.ContentLength is null or <= MaxLoginFormBytes)
        {
            try
            {
                form = await context.Request.ReadFormAsync(LoginFormLimits, context.RequestAborted);
            }
            catch (InvalidDataException)
            {
                form = null;
            }
        }

        var key = form?["key"].ToString();
        var adminKey = options.CurrentValue.AdminKey;
        if (string.IsNullOrEmpty(adminKey) || string.IsNullOrEmpty(key)
            || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(key)), SHA256.HashData(Encoding.UTF8.GetBytes(adminKey))))
        {
            await WriteHtmlAsync(context, Login.Value, 401);
            return;
        }

        var expires = time.GetUtcNow().Add(SessionLifetime).ToUnixTimeSeconds();
        context.Response.Cookies.Append(Cookie, Proof(adminKey, expires), new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = context.Request.IsHttps,
            Path = "/",
            MaxAge = SessionLifetime,
        });
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = "/dashboard";
    }

    /// <summary>
    /// Signs out: the browser drops its cookie and is sent to the login form. The cookie is stateless proof, so a copy
    /// taken before stays valid until it expires; rotating the admin key ends every session at once.
    /// </summary>
    public Task LogoutAsync(HttpContext context)
    {
        RouterHttpContext.Begin(context, time);
        context.Response.Cookies.Delete(Cookie, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = context.Request.IsHttps,
            Path = "/",
        });
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = "/dashboard";
        return Task.CompletedTask;
    }

    /// <summary>The figures the page draws, for the last <c>hours</c> (default 48).</summary>
    public async Task DataAsync(HttpContext context)
    {
        RouterHttpContext.Begin(context, time);
        if (!IsAuthorized(context))
        {
            await Errors.ErrorResponse.WriteAsync(context, Router.Core.Chat.RouterError.InvalidApiKey());
            return;
        }

        var hours = int.TryParse(context.Request.Query["hours"], NumberStyles.None, CultureInfo.InvariantCulture, out var h) ? Math.Clamp(h, 1, 24 * 90) : 48;
        var now = time.GetUtcNow();
        var since = now - TimeSpan.FromHours(hours);
        var hourly = hours <= 72;
        var rows = new List<UsageRecord>();
        await foreach (var row in ledger.QueryAllAsync(DateOnly.FromDateTime(since.UtcDateTime), DateOnly.FromDateTime(now.UtcDateTime), context.RequestAborted))
        {
            if (row.Timestamp >= since)
            {
                rows.Add(row);
            }
        }

        var totals = new UsageTotals();
        rows.ForEach(totals.Add);
        var series = rows
            .GroupBy(r => hourly
                ? new DateTimeOffset(r.Timestamp.UtcDateTime.Year, r.Timestamp.UtcDateTime.Month, r.Timestamp.UtcDateTime.Day, r.Timestamp.UtcDateTime.Hour, 0, 0, TimeSpan.Zero)
                : new DateTimeOffset(r.Timestamp.UtcDateTime.Date, TimeSpan.Zero))
            .OrderBy(g => g.Key)
            .Select(g =>
            {
                var t = new UsageTotals();
                foreach (var r in g)
                {
                    t.Add(r);
                }

                return new SeriesPoint(g.Key, t.Requests, t.CostUsd, t.BaselineCostUsd, t.SavingsPct, t.ExactCacheHits, t.SemanticCacheHits, t.Fallbacks, t.Errors);
            })
            .ToArray();

        var auditRows = new List<AuditResult>();
        await foreach (var audit in audits.QueryAsync(since, context.RequestAborted))
        {
            auditRows.Add(audit);
        }

        var data = new DashboardData
        {
            GeneratedAt = now,
            Hours = hours,
            Bucket = hourly ? "hour" : "day",
            Totals = UsageFigures.From(null, totals),
            Series = series,
            Models = Mix(rows, r => r.Model ?? "(none)"),
            Tiers = Mix(rows, r => r.Tier ?? "(none)"),
            Tasks = Mix(rows, r => r.Task ?? "(none)"),
            Cache = new CacheMix(rows.Count(r => r.Cache == "exact"), rows.Count(r => r.Cache == "semantic"), rows.Count(r => r.Cache == "miss"), rows.Count(r => r.Cache == "bypass")),
            // Unjudged audits have no score, and an answer judged differently in the two orders is no evidence either way.
            AuditQuality = auditRows
                .Where(a => a.Conclusive)
                .GroupBy(a => (a.Task, a.Model))
                .OrderBy(g => g.Key.Task, StringComparer.Ordinal).ThenBy(g => g.Key.Model, StringComparer.Ordinal)
                .Select(g => new AuditQualityRow(g.Key.Task, g.Key.Model, g.Count(), Math.Round(g.Average(a => a.Score), 3),
                    Math.Round(g.Count(a => a.Verdict != AuditVerdict.Worse) / (double)g.Count(), 3), g.Sum(a => a.CostUsd)))
                .ToArray(),
            Recent = recent.Snapshot().Take(50).Select(d => new RecentRow(
                d.Usage.RequestId, d.Usage.Timestamp, d.Usage.TenantId, d.Usage.Task, d.Usage.Complexity, d.Usage.Risk, d.Usage.Model, d.Usage.Tier,
                d.Usage.Cache, d.Usage.CostUsd, d.Usage.SavingsUsd, d.Usage.Fallbacks, d.Usage.Outcome, d.Reasons)).ToArray(),
        };
        await AdminRequests.WriteAsync(context, StatusCodes.Status200OK, data, RouterHttpJsonContext.Default.DashboardData);
    }

    private bool IsAuthorized(HttpContext context)
    {
        if (authentication.IsAdmin(context))
        {
            return true;
        }

        // "<expiry>.<HMAC of the expiry>": a copied cookie stops working when it expires, whatever the browser does.
        var adminKey = options.CurrentValue.AdminKey;
        if (string.IsNullOrEmpty(adminKey) || !context.Request.Cookies.TryGetValue(Cookie, out var proof) || proof is null)
        {
            return false;
        }

        var dot = proof.IndexOf('.', StringComparison.Ordinal);
        return dot > 0
            && long.TryParse(proof.AsSpan(0, dot), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var expires)
            && time.GetUtcNow().ToUnixTimeSeconds() < expires
            && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(proof), Encoding.ASCII.GetBytes(Proof(adminKey, expires)));
    }

    private static string Proof(string adminKey, long expires) =>
        expires.ToString(System.Globalization.CultureInfo.InvariantCulture) + "."
        + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(adminKey), Encoding.UTF8.GetBytes("router-dashboard-v2|" + expires.ToString(System.Globalization.CultureInfo.InvariantCulture))));

    private static MixRow[] Mix(List<UsageRecord> rows, Func<UsageRecord, string> key) => rows
        .GroupBy(key)
        .OrderByDescending(g => g.Count())
        .Select(g => new MixRow(g.Key, g.Count(), g.Sum(r => r.CostUsd)))
        .ToArray();

    private static async Task WriteHtmlAsync(HttpContext context, byte[] html, int status)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers["Content-Security-Policy"] = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:";
        context.Response.ContentLength = html.Length;
        await context.Response.Body.WriteAsync(html, context.RequestAborted);
    }

    private static byte[] Resource(string name)
    {
        using var stream = typeof(DashboardHandler).Assembly.GetManifestResourceStream("Router.Http.Dashboard." + name)
            ?? throw new InvalidOperationException($"Embedded resource {name} is missing.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}

/// <summary>Everything the dashboard draws.</summary>
public sealed record DashboardData
{
    [JsonPropertyName("generated_at")] public DateTimeOffset GeneratedAt { get; init; }
    [JsonPropertyName("hours")] public int Hours { get; init; }
    [JsonPropertyName("bucket")] public required string Bucket { get; init; }
    [JsonPropertyName("totals")] public required UsageFigures Totals { get; init; }
    [JsonPropertyName("series")] public required IReadOnlyList<SeriesPoint> Series { get; init; }
    [JsonPropertyName("models")] public required IReadOnlyList<MixRow> Models { get; init; }
    [JsonPropertyName("tiers")] public required IReadOnlyList<MixRow> Tiers { get; init; }
    [JsonPropertyName("tasks")] public required IReadOnlyList<MixRow> Tasks { get; init; }
    [JsonPropertyName("cache")] public required CacheMix Cache { get; init; }
    [JsonPropertyName("audit_quality")] public required IReadOnlyList<AuditQualityRow> AuditQuality { get; init; }
    [JsonPropertyName("recent")] public required IReadOnlyList<RecentRow> Recent { get; init; }
}

/// <summary>One time bucket.</summary>
public sealed record SeriesPoint(
    [property: JsonPropertyName("time")] DateTimeOffset Time,
    [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("cost_usd")] decimal CostUsd,
    [property: JsonPropertyName("baseline_cost_usd")] decimal BaselineCostUsd,
    [property: JsonPropertyName("savings_pct")] decimal SavingsPct,
    [property: JsonPropertyName("exact_hits")] long ExactHits,
    [property: JsonPropertyName("semantic_hits")] long SemanticHits,
    [property: JsonPropertyName("fallbacks")] long Fallbacks,
    [property: JsonPropertyName("errors")] long Errors);

/// <summary>A share of traffic.</summary>
public sealed record MixRow(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("cost_usd")] decimal CostUsd);

/// <summary>Cache outcomes.</summary>
public sealed record CacheMix(
    [property: JsonPropertyName("exact")] long Exact,
    [property: JsonPropertyName("semantic")] long Semantic,
    [property: JsonPropertyName("miss")] long Miss,
    [property: JsonPropertyName("bypass")] long Bypass);

/// <summary>Audit quality of one model on one task.</summary>
public sealed record AuditQualityRow(
    [property: JsonPropertyName("task")] string Task,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("audits")] int Audits,
    [property: JsonPropertyName("score_mean")] double ScoreMean,
    [property: JsonPropertyName("equivalent_or_better")] double EquivalentOrBetter,
    [property: JsonPropertyName("audit_cost_usd")] decimal AuditCostUsd);

/// <summary>A recent decision.</summary>
public sealed record RecentRow(
    [property: JsonPropertyName("request_id")] string RequestId,
    [property: JsonPropertyName("time")] DateTimeOffset Time,
    [property: JsonPropertyName("tenant")] string Tenant,
    [property: JsonPropertyName("task")] string? Task,
    [property: JsonPropertyName("complexity")] int Complexity,
    [property: JsonPropertyName("risk")] string? Risk,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("tier")] string? Tier,
    [property: JsonPropertyName("cache")] string Cache,
    [property: JsonPropertyName("cost_usd")] decimal CostUsd,
    [property: JsonPropertyName("savings_usd")] decimal SavingsUsd,
    [property: JsonPropertyName("fallbacks")] int Fallbacks,
    [property: JsonPropertyName("outcome")] string Outcome,
    [property: JsonPropertyName("reasons")] IReadOnlyList<string> Reasons);
