using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Metering;
using Router.Core.Routing;
using Router.Http.Auth;
using Router.Http.Chat;
using Router.Http.Errors;

namespace Router.Http.Admin;

/// <summary>Tenant routing policy for operators: <c>GET|PUT /admin/tenants/{tenant}/rules</c> and
/// <c>PUT /admin/tenants/{tenant}/quality</c>, with the admin key.</summary>
public sealed class AdminTenantsHandler(
    CallerAuthentication authentication,
    ITenantPolicyStore policies,
    ModelCatalog catalog,
    IOptionsMonitor<RouterOptions> options,
    TimeProvider time)
{
    /// <summary>The tenant's rules and knob.</summary>
    public async Task GetRulesAsync(HttpContext context, string tenant)
    {
        if (!await AuthorizeAsync(context))
        {
            return;
        }

        var policy = await policies.GetAsync(tenant, context.RequestAborted);
        await WriteAsync(context, StatusCodes.Status200OK, policy);
    }

    /// <summary>Replaces the tenant's rules; an invalid set is a 400 that lists every error.</summary>
    public async Task PutRulesAsync(HttpContext context, string tenant)
    {
        if (!await AuthorizeAsync(context) || await ReadJsonAsync(context) is not { } json)
        {
            return;
        }

        using (json)
        {
            var root = json.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("rules", out var rules))
            {
                root = rules;
            }

            if (!RuleSetCompiler.TryParse(root, catalog, out var compiled, out var errors))
            {
                var message = $"The rule set has {errors.Count} error{(errors.Count == 1 ? "" : "s")}: {string.Join("; ", errors)}";
                await ErrorResponse.WriteAsync(context, RouterError.InvalidRequest(message, "rules", "invalid_rules"));
                return;
            }

            await policies.SetRulesAsync(tenant, compiled, context.RequestAborted);
        }

        await WriteAsync(context, StatusCodes.Status200OK, await policies.GetAsync(tenant, context.RequestAborted));
    }

    /// <summary>Sets the tenant's cost/quality knob: <c>{"quality": 0.7}</c> (null clears it).</summary>
    public async Task PutQualityAsync(HttpContext context, string tenant)
    {
        if (!await AuthorizeAsync(context) || await ReadJsonAsync(context) is not { } json)
        {
            return;
        }

        using (json)
        {
            if (json.RootElement.ValueKind != JsonValueKind.Object || !json.RootElement.TryGetProperty("quality", out var value)
                || !(value.ValueKind == JsonValueKind.Null || value.ValueKind == JsonValueKind.Number && value.GetDouble() is >= 0 and <= 1))
            {
                await ErrorResponse.WriteAsync(context, RouterError.InvalidRequest("Send {\"quality\": q} with q between 0 and 1, or null to clear it.", "quality"));
                return;
            }

            await policies.SetQualityAsync(tenant, value.ValueKind == JsonValueKind.Null ? null : value.GetDouble(), context.RequestAborted);
        }

        await WriteAsync(context, StatusCodes.Status200OK, await policies.GetAsync(tenant, context.RequestAborted));
    }

    private async Task<bool> AuthorizeAsync(HttpContext context)
    {
        RouterHttpContext.Begin(context, time);
        if (authentication.IsAdmin(context))
        {
            return true;
        }

        await ErrorResponse.WriteAsync(context, RouterError.InvalidApiKey());
        return false;
    }

    private async Task<JsonDocument?> ReadJsonAsync(HttpContext context)
    {
        var (body, error) = await RequestBody.ReadAsync(context.Request, options.CurrentValue.MaxRequestBodyBytes, context.RequestAborted);
        if (error is not null)
        {
            await ErrorResponse.WriteAsync(context, error);
            return null;
        }

        using (body)
        {
            try
            {
                return JsonDocument.Parse(body!.Memory);
            }
            catch (JsonException ex)
            {
                await ErrorResponse.WriteAsync(context, RouterError.InvalidRequest($"The request body is not valid JSON: {ex.Message}", code: "invalid_json"));
                return null;
            }
        }
    }

    private static Task WriteAsync(HttpContext context, int status, TenantPolicy policy)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var document = new TenantRulesDocument(policy.TenantId, policy.Quality, policy.Rules.Select(r => r.Definition).ToArray());
        return JsonSerializer.SerializeAsync(context.Response.Body, document, RouterHttpJsonContext.Default.TenantRulesDocument, context.RequestAborted);
    }
}

/// <summary>A tenant's routing policy as the admin API shows it.</summary>
public sealed record TenantRulesDocument(
    [property: JsonPropertyName("tenant")] string Tenant,
    [property: JsonPropertyName("quality")] double? Quality,
    [property: JsonPropertyName("rules")] IReadOnlyList<RuleDefinition> Rules);
