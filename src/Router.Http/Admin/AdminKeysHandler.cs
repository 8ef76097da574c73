using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Router.Core.Chat;
using Router.Core.Metering;
using Router.Http.Auth;
using Router.Http.Errors;

namespace Router.Http.Admin;

/// <summary>Key management with the admin key: <c>POST /admin/keys</c> (the key is shown only in this answer),
/// <c>GET /admin/keys?tenant=</c>, <c>DELETE /admin/keys/{id}</c> and <c>POST /admin/keys/{id}/rotate</c>.</summary>
public sealed class AdminKeysHandler(CallerAuthentication authentication, ApiKeyIssuer issuer, IApiKeyStore keys, TimeProvider time)
{
    /// <summary>Creates a key for a registered tenant.</summary>
    public async Task CreateAsync(HttpContext context)
    {
        if (!await AdminRequests.AuthorizeAsync(context, authentication, time) || await AdminRequests.ReadJsonAsync(context) is not { } json)
        {
            return;
        }

        using (json)
        {
            var errors = new List<string>();
            var fields = new AdminRequests.FieldReader(json.RootElement, errors);
            var tenant = fields.String("tenant");
            var name = fields.String("name");
            var expires = fields.Date("expires_at");
            var limits = new KeyLimits(fields.Int("requests_per_minute"), fields.Int("tokens_per_minute"), fields.Decimal("daily_budget_usd"), fields.Decimal("monthly_budget_usd"));
            fields.RejectUnknown();
            if (errors.Count > 0)
            {
                await ErrorResponse.WriteAsync(context, AdminRequests.FieldErrors(errors));
                return;
            }

            var (record, key, error) = await issuer.IssueAsync(tenant, name, expires, limits, context.RequestAborted);
            if (error is not null)
            {
                await ErrorResponse.WriteAsync(context, error);
                return;
            }

            await AdminRequests.WriteAsync(context, StatusCodes.Status201Created, KeyDocument.From(record!, key), RouterHttpJsonContext.Default.KeyDocument);
        }
    }

    /// <summary>Lists keys, optionally for one tenant; never shows the key itself.</summary>
    public async Task ListAsync(HttpContext context)
    {
        if (!await AdminRequests.AuthorizeAsync(context, authentication, time))
        {
            return;
        }

        var tenant = context.Request.Query["tenant"].ToString() is { Length: > 0 } t ? t : null;
        var list = new List<KeyDocument>();
        await foreach (var key in keys.ListAsync(tenant, context.RequestAborted))
        {
            list.Add(KeyDocument.From(key, null));
        }

        await AdminRequests.WriteAsync(context, StatusCodes.Status200OK, new KeyList("list", list), RouterHttpJsonContext.Default.KeyList);
    }

    /// <summary>Revokes a key; it stops working everywhere within the key cache time (30 s).</summary>
    public async Task RevokeAsync(HttpContext context, string id)
    {
        if (!await AdminRequests.AuthorizeAsync(context, authentication, time))
        {
            return;
        }

        var revoked = await issuer.RevokeAsync(id, context.RequestAborted);
        if (revoked is null)
        {
            await ErrorResponse.WriteAsync(context, RouterError.NotFound($"No key with id '{id}'."));
            return;
        }

        await AdminRequests.WriteAsync(context, StatusCodes.Status200OK, KeyDocument.From(revoked, null), RouterHttpJsonContext.Default.KeyDocument);
    }

    /// <summary>Issues a replacement key and revokes the old one.</summary>
    public async Task RotateAsync(HttpContext context, string id)
    {
        if (!await AdminRequests.AuthorizeAsync(context, authentication, time))
        {
            return;
        }

        var (record, key, error) = await issuer.RotateAsync(id, context.RequestAborted);
        if (error is not null)
        {
            await ErrorResponse.WriteAsync(context, error);
            return;
        }

        await AdminRequests.WriteAsync(context, StatusCodes.Status201Created, KeyDocument.From(record!, key), RouterHttpJsonContext.Default.KeyDocument);
    }
}

/// <summary>A key as the admin API shows it; <see cref="Key"/> only when it was just issued.</summary>
public sealed record KeyDocument
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("key")] public string? Key { get; init; }
    [JsonPropertyName("tenant")] public required string Tenant { get; init; }
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("prefix")] public string? Prefix { get; init; }
    [JsonPropertyName("created_at")] public DateTimeOffset CreatedAt { get; init; }
    [JsonPropertyName("expires_at")] public DateTimeOffset? ExpiresAt { get; init; }
    [JsonPropertyName("revoked_at")] public DateTimeOffset? RevokedAt { get; init; }
    [JsonPropertyName("requests_per_minute")] public int? RequestsPerMinute { get; init; }
    [JsonPropertyName("tokens_per_minute")] public int? TokensPerMinute { get; init; }
    [JsonPropertyName("daily_budget_usd")] public decimal? DailyBudgetUsd { get; init; }
    [JsonPropertyName("monthly_budget_usd")] public decimal? MonthlyBudgetUsd { get; init; }

    internal static KeyDocument From(ApiKeyRecord r, string? key) => new()
    {
        Id = r.Id,
        Key = key,
        Tenant = r.TenantId,
        Name = r.Name,
        Prefix = r.Prefix,
        CreatedAt = r.CreatedAt,
        ExpiresAt = r.ExpiresAt,
        RevokedAt = r.RevokedAt,
        RequestsPerMinute = r.Limits.RequestsPerMinute,
        TokensPerMinute = r.Limits.TokensPerMinute,
        DailyBudgetUsd = r.Limits.DailyBudgetUsd,
        MonthlyBudgetUsd = r.Limits.MonthlyBudgetUsd,
    };
}

/// <summary>A list of keys.</summary>
public sealed record KeyList([property: JsonPropertyName("object")] string Kind, [property: JsonPropertyName("data")] IReadOnlyList<KeyDocument> Data);
