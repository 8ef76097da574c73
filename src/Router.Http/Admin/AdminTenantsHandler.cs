using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Metering;
using Router.Core.Routing;
using Router.Http.Auth;
using Router.Http.Errors;

namespace Router.Http.Admin;

/// <summary>Tenants for operators, with the admin key: <c>POST /admin/tenants</c>, <c>GET /admin/tenants</c>,
/// <c>GET|PUT /admin/tenants/{tenant}</c>, <c>GET|PUT /admin/tenants/{tenant}/rules</c>, <c>PUT /admin/tenants/{tenant}/quality</c>.</summary>
public sealed class AdminTenantsHandler(
    CallerAuthentication authentication,
    ITenantPolicyStore policies,
    ModelCatalog catalog,
    TimeProvider time)
{
    /// <summary>Registers a tenant: <c>{"id": "acme", …settings}</c>; 409 when it exists.</summary>
    public async Task CreateAsync(HttpContext context)
    {
        if (!await AdminRequests.AuthorizeAsync(context, authentication, time) || await AdminRequests.ReadJsonAsync(context) is not { } json)
        {
            return;
        }

        using (json)
        {
            var errors = new List<string>();
            var id = new AdminRequests.FieldReader(json.RootElement, errors).String("id");
            if (id is null || !ApiKeyIssuer.TenantIdPattern().IsMatch(id))
            {
                errors.Add("'id' is required: letters, digits, '_', '.' or '-', up to 64 characters.");
            }

            var policy = ReadSettings(json.RootElement, TenantPolicy.Default(id ?? "_"), errors, "id");
            if (errors.Count > 0)
            {
                await ErrorResponse.WriteAsync(context, AdminRequests.FieldErrors(errors));
                return;
            }

            // The store's insert decides, not a cached read: another instance may have created the tenant a moment ago.
            if (!await policies.CreateAsync(policy with { Registered = true }, context.RequestAborted))
            {
                await ErrorResponse.WriteAsync(context, new RouterError(409, "invalid_request_error", "tenant_exists", $"Tenant '{id}' already exists; change it with PUT /admin/tenants/{id}."));
                return;
            }

            await WriteAsync(context, StatusCodes.Status201Created, await policies.GetAsync(id!, context.RequestAborted));
        }
    }

    /// <summary>Every registered tenant.</summary>
    public async Task ListAsync(HttpContext context)
    {
        if (!await AdminRequests.AuthorizeAsync(context, authentication, time))
        {
            return;
        }

        var list = new List<TenantDocument>();
        await foreach (var policy in policies.ListAsync(context.RequestAborted))
        {
            list.Add(TenantDocument.From(policy));
        }

        await AdminRequests.WriteAsync(context, StatusCodes.Status200OK, new TenantList("list", list), RouterHttpJsonContext.Default.TenantList);
    }

    /// <summary>One tenant; 404 when it is not registered.</summary>
    public async Task GetAsync(HttpContext context, string tenant)
    {
        if (!await AdminRequests.AuthorizeAsync(context, authentication, time) || await RegisteredAsync(context, tenant) is not { } policy)
        {
            return;
        }

        await WriteAsync(context, StatusCodes.Status200OK, policy);
    }

    /// <summary>Changes a tenant's settings (fields not sent keep their values; null clears an optional one).</summary>
    public async Task UpdateAsync(HttpContext context, string tenant)
    {
        if (!await AdminRequests.AuthorizeAsync(context, authentication, time))
        {
            return;
        }

        // The body is judged inside the update, so an unknown tenant is a 404 whatever the body.
        var (json, bodyError) = await AdminRequests.TryReadJsonAsync(context);
        using (json)
        {
            var errors = new List<string>();
            var update = await policies.UpdateAsync(tenant, current =>
            {
                if (json is null)
                {
                    return null;
                }

                // Checked against the settings stored now: a retry after a conflicting write starts over.
                errors.Clear();
                var policy = ReadSettings(json.RootElement, current, errors);
                return errors.Count > 0 ? null : policy;
            }, context.RequestAborted);
            await WriteAsync(context, tenant, update, () => bodyError ?? AdminRequests.FieldErrors(errors));
        }
    }

    /// <summary>The tenant's rules and knob.</summary>
    public Task GetRulesAsync(HttpContext context, string tenant) => GetAsync(context, tenant);

    /// <summary>Replaces the tenant's rules; an invalid set is a 400 that lists every error and changes nothing.</summary>
    public async Task PutRulesAsync(HttpContext context, string tenant)
    {
        if (!await AdminRequests.AuthorizeAsync(context, authentication, time))
        {
            return;
        }

        // Read here but judged inside the update, so an unknown tenant is a 404 whatever the body (even one that is no JSON).
        var (json, bodyError) = await AdminRequests.TryReadJsonAsync(context);
        using (json)
        {
            var root = json?.RootElement ?? default;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("rules", out var rules))
            {
                root = rules;
            }

            var invalid = (IReadOnlyList<string>)[];
            var update = await policies.UpdateAsync(tenant, current =>
            {
                if (json is null)
                {
                    return null;
                }

                if (RuleSetCompiler.TryParse(root, catalog, out var compiled, out var errors))
                {
                    return current with { Rules = compiled };
                }

                invalid = errors;
                return null;
            }, context.RequestAborted);
            await WriteAsync(context, tenant, update, () => bodyError ?? RouterError.InvalidRequest(
                $"The rule set has {invalid.Count} error{(invalid.Count == 1 ? "" : "s")}: {string.Join("; ", invalid)}", "rules", "invalid_rules"));
        }
    }

    /// <summary>Sets the tenant's cost/quality knob: <c>{"quality": 0.7}</c> (null clears it).</summary>
    public async Task PutQualityAsync(HttpContext context, string tenant)
    {
        if (!await AdminRequests.AuthorizeAsync(context, authentication, time))
        {
            return;
        }

        // Judged inside the update, so an unknown tenant is a 404 whatever the body.
        var (json, bodyError) = await AdminRequests.TryReadJsonAsync(context);
        using (json)
        {
            var root = json?.RootElement ?? default;
            var update = await policies.UpdateAsync(tenant, current =>
                json is null || root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("quality", out var value)
                || !(value.ValueKind == JsonValueKind.Null || value.ValueKind == JsonValueKind.Number && value.GetDouble() is >= 0 and <= 1)
                    ? null
                    : current with { Quality = value.ValueKind == JsonValueKind.Null ? null : value.GetDouble() }, context.RequestAborted);
            await WriteAsync(context, tenant, update, () => bodyError ?? RouterError.InvalidRequest("Send {\"quality\": q} with q between 0 and 1, or null to clear it.", "quality", "invalid_value"));
        }
    }

    private async Task<TenantPolicy?> RegisteredAsync(HttpContext context, string tenant)
    {
        var policy = await policies.GetAsync(tenant, context.RequestAborted);
        if (policy.Registered)
        {
            return policy;
        }

        await NotRegisteredAsync(context, tenant);
        return null;
    }

    private static TenantPolicy ReadSettings(JsonElement root, TenantPolicy current, List<string> errors, params string[] alsoKnown)
    {
        var fields = new AdminRequests.FieldReader(root, errors);
        foreach (var name in alsoKnown)
        {
            fields.Known.Add(name);
        }

        // Every setting is known whether or not this body sets it, so an unknown field's error lists them all.
        T? Pick<T>(string name, Func<string, T?> read, T? currentValue)
            where T : struct
        {
            fields.Known.Add(name);
            return root.TryGetProperty(name, out _) ? read(name) : currentValue;
        }

        var policy = current with
        {
            Quality = Pick("quality", fields.Double, current.Quality),
            PerCallFeeUsd = Pick("per_call_fee_usd", fields.Decimal, (decimal?)current.PerCallFeeUsd) ?? 0,
            MarkupPercent = Pick("markup_percent", fields.Decimal, (decimal?)current.MarkupPercent) ?? 0,
            DailyBudgetUsd = Pick("daily_budget_usd", fields.Decimal, current.DailyBudgetUsd),
            MonthlyBudgetUsd = Pick("monthly_budget_usd", fields.Decimal, current.MonthlyBudgetUsd),
            RequestsPerMinute = Pick("requests_per_minute", fields.Int, current.RequestsPerMinute),
            TokensPerMinute = Pick("tokens_per_minute", fields.Int, current.TokensPerMinute),
            SessionSpendCapUsd = Pick("session_spend_cap_usd", fields.Decimal, current.SessionSpendCapUsd),
            AuditOptOut = Pick("audit_opt_out", fields.Bool, (bool?)current.AuditOptOut) ?? false,
            AuditSampleRate = Pick("audit_sample_rate", fields.Double, current.AuditSampleRate),
            CacheSimilarityThreshold = Pick("cache_similarity_threshold", fields.Double, (double?)current.CacheSimilarityThreshold) is { } c ? (float)c : null,
            CacheTimeToLive = Pick("cache_ttl_seconds", fields.Int, (int?)current.CacheTimeToLive?.TotalSeconds) is { } ttl ? TimeSpan.FromSeconds(ttl) : null,
        };
        if (policy.AuditSampleRate is < 0 or > 1)
        {
            errors.Add("'audit_sample_rate' must be between 0 and 1.");
        }

        if (policy.CacheSimilarityThreshold is < 0.5f or > 1f)
        {
            errors.Add("'cache_similarity_threshold' must be between 0.5 and 1.");
        }

        if (policy.CacheTimeToLive is { } life && life <= TimeSpan.Zero)
        {
            errors.Add("'cache_ttl_seconds' must be positive.");
        }

        fields.RejectUnknown();
        errors.AddRange(TenantSettingsRules.Check(policy.Quality, policy.PerCallFeeUsd, policy.MarkupPercent, policy.DailyBudgetUsd,
            policy.MonthlyBudgetUsd, policy.RequestsPerMinute, policy.TokensPerMinute, policy.SessionSpendCapUsd).Select(SnakeCase));
        return policy;
    }

    private static string SnakeCase(string error)
    {
        var colon = error.IndexOf(':', StringComparison.Ordinal);
        var name = error[..colon];
        var snake = string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
        return $"'{snake}'{error[colon..]}";
    }

    // An update's answer: the tenant as written, 404 for an unknown tenant, the change's own error when it declined to
    // write, 409 when other writers changed the tenant at every attempt.
    private static Task WriteAsync(HttpContext context, string tenant, TenantUpdate update, Func<RouterError> declined) => update switch
    {
        { Status: TenantUpdateStatus.Updated, Policy: { } policy } => WriteAsync(context, StatusCodes.Status200OK, policy),
        { Status: TenantUpdateStatus.NotRegistered } => NotRegisteredAsync(context, tenant),
        { Status: TenantUpdateStatus.Declined } => ErrorResponse.WriteAsync(context, declined()),
        _ => ErrorResponse.WriteAsync(context, new RouterError(409, "invalid_request_error", "tenant_contended",
            $"Tenant '{tenant}' was changed by other writers while this change was applied; send it again.")),
    };

    private static Task NotRegisteredAsync(HttpContext context, string tenant) =>
        ErrorResponse.WriteAsync(context, RouterError.NotFound($"Tenant '{(tenant.Length > 64 ? tenant[..64] : tenant)}' does not exist; create it with POST /admin/tenants."));

    private static Task WriteAsync(HttpContext context, int status, TenantPolicy policy) =>
        AdminRequests.WriteAsync(context, status, TenantDocument.From(policy), RouterHttpJsonContext.Default.TenantDocument);
}

/// <summary>A tenant as the admin API shows it.</summary>
public sealed record TenantDocument
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("quality")] public double? Quality { get; init; }
    [JsonPropertyName("per_call_fee_usd")] public decimal PerCallFeeUsd { get; init; }
    [JsonPropertyName("markup_percent")] public decimal MarkupPercent { get; init; }
    [JsonPropertyName("daily_budget_usd")] public decimal? DailyBudgetUsd { get; init; }
    [JsonPropertyName("monthly_budget_usd")] public decimal? MonthlyBudgetUsd { get; init; }
    [JsonPropertyName("requests_per_minute")] public int? RequestsPerMinute { get; init; }
    [JsonPropertyName("tokens_per_minute")] public int? TokensPerMinute { get; init; }
    [JsonPropertyName("session_spend_cap_usd")] public decimal? SessionSpendCapUsd { get; init; }
    [JsonPropertyName("audit_opt_out")] public bool AuditOptOut { get; init; }
    [JsonPropertyName("audit_sample_rate")] public double? AuditSampleRate { get; init; }
    [JsonPropertyName("cache_similarity_threshold")] public float? CacheSimilarityThreshold { get; init; }
    [JsonPropertyName("cache_ttl_seconds")] public int? CacheTimeToLiveSeconds { get; init; }
    [JsonPropertyName("rules")] public IReadOnlyList<RuleDefinition> Rules { get; init; } = [];

    internal static TenantDocument From(TenantPolicy p) => new()
    {
        Id = p.TenantId,
        Quality = p.Quality,
        PerCallFeeUsd = p.PerCallFeeUsd,
        MarkupPercent = p.MarkupPercent,
        DailyBudgetUsd = p.DailyBudgetUsd,
        MonthlyBudgetUsd = p.MonthlyBudgetUsd,
        RequestsPerMinute = p.RequestsPerMinute,
        TokensPerMinute = p.TokensPerMinute,
        SessionSpendCapUsd = p.SessionSpendCapUsd,
        AuditOptOut = p.AuditOptOut,
        AuditSampleRate = p.AuditSampleRate,
        CacheSimilarityThreshold = p.CacheSimilarityThreshold,
        CacheTimeToLiveSeconds = p.CacheTimeToLive is { } t ? (int)t.TotalSeconds : null,
        Rules = p.Rules.Select(r => r.Definition).ToArray(),
    };
}

/// <summary>A list of tenants.</summary>
public sealed record TenantList([property: JsonPropertyName("object")] string Kind, [property: JsonPropertyName("data")] IReadOnlyList<TenantDocument> Data);
