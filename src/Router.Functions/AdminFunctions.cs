using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Router.Http;
using Router.Http.Admin;
using Router.Http.Errors;

namespace Router.Functions;

/// <summary>The admin HTTP triggers (admin key required), served by the same handlers as the self-hosted server.
/// On Azure the host refuses the <c>admin/…</c> routes (it reserves them for its own management API); <see cref="Manage"/>
/// serves the same API at <c>/manage/…</c> there.</summary>
public sealed class AdminFunctions(AdminKeysHandler keys, AdminTenantsHandler tenants, AdminWeightsHandler weights, AdminAuditsHandler audits, TimeProvider time)
{
    /// <summary><c>/manage/{*path}</c>: every admin endpoint, under the prefix the Functions host allows.</summary>
    [Function(nameof(Manage))]
    public async Task<IActionResult> Manage(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", "put", "delete", Route = "manage/{*path}")] HttpRequest request, string? path)
    {
        if (!await AdminApi.DispatchAsync(request.HttpContext, path))
        {
            // As on the server: a wrong method on an admin path is a 405 naming the methods it serves, else a 404.
            RouterHttpContext.Begin(request.HttpContext, time);
            await ErrorResponse.WriteUnmatchedAsync(request.HttpContext, AdminApi.AllowedMethods(path));
        }

        return new EmptyResult();
    }

    /// <summary><c>GET /admin/weights</c>.</summary>
    [Function(nameof(GetWeights))]
    public async Task<IActionResult> GetWeights([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "admin/weights")] HttpRequest request)
    {
        await weights.GetAsync(request.HttpContext);
        return new EmptyResult();
    }

    /// <summary><c>POST /admin/weights/recompute</c>.</summary>
    [Function(nameof(RecomputeWeightsNow))]
    public async Task<IActionResult> RecomputeWeightsNow([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "admin/weights/recompute")] HttpRequest request)
    {
        await weights.RecomputeAsync(request.HttpContext);
        return new EmptyResult();
    }

    /// <summary><c>GET /admin/audits/poison</c>.</summary>
    [Function(nameof(GetAuditPoison))]
    public async Task<IActionResult> GetAuditPoison([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "admin/audits/poison")] HttpRequest request)
    {
        await audits.InspectAsync(request.HttpContext);
        return new EmptyResult();
    }

    /// <summary><c>POST /admin/audits/redrive</c>.</summary>
    [Function(nameof(RedriveAudits))]
    public async Task<IActionResult> RedriveAudits([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "admin/audits/redrive")] HttpRequest request)
    {
        await audits.RedriveAsync(request.HttpContext);
        return new EmptyResult();
    }

    /// <summary><c>POST /admin/keys</c>.</summary>
    [Function(nameof(CreateKey))]
    public async Task<IActionResult> CreateKey([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "admin/keys")] HttpRequest request)
    {
        await keys.CreateAsync(request.HttpContext);
        return new EmptyResult();
    }

    /// <summary><c>GET /admin/keys</c>.</summary>
    [Function(nameof(ListKeys))]
    public async Task<IActionResult> ListKeys([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "admin/keys")] HttpRequest request)
    {
        await keys.ListAsync(request.HttpContext);
        return new EmptyResult();
    }

    /// <summary><c>DELETE /admin/keys/{id}</c>.</summary>
    [Function(nameof(RevokeKey))]
    public async Task<IActionResult> RevokeKey([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "admin/keys/{id}")] HttpRequest request, string id)
    {
        await keys.RevokeAsync(request.HttpContext, id);
        return new EmptyResult();
    }

    /// <summary><c>POST /admin/keys/{id}/rotate</c>.</summary>
    [Function(nameof(RotateKey))]
    public async Task<IActionResult> RotateKey([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "admin/keys/{id}/rotate")] HttpRequest request, string id)
    {
        await keys.RotateAsync(request.HttpContext, id);
        return new EmptyResult();
    }

    /// <summary><c>POST /admin/tenants</c>.</summary>
    [Function(nameof(CreateTenant))]
    public async Task<IActionResult> CreateTenant([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "admin/tenants")] HttpRequest request)
    {
        await tenants.CreateAsync(request.HttpContext);
        return new EmptyResult();
    }

    /// <summary><c>GET /admin/tenants</c>.</summary>
    [Function(nameof(ListTenants))]
    public async Task<IActionResult> ListTenants([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "admin/tenants")] HttpRequest request)
    {
        await tenants.ListAsync(request.HttpContext);
        return new EmptyResult();
    }

    /// <summary><c>GET /admin/tenants/{tenant}</c>.</summary>
    [Function(nameof(GetTenant))]
    public async Task<IActionResult> GetTenant([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "admin/tenants/{tenant}")] HttpRequest request, string tenant)
    {
        await tenants.GetAsync(request.HttpContext, tenant);
        return new EmptyResult();
    }

    /// <summary><c>PUT /admin/tenants/{tenant}</c>.</summary>
    [Function(nameof(UpdateTenant))]
    public async Task<IActionResult> UpdateTenant([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "admin/tenants/{tenant}")] HttpRequest request, string tenant)
    {
        await tenants.UpdateAsync(request.HttpContext, tenant);
        return new EmptyResult();
    }

    /// <summary><c>GET /admin/tenants/{tenant}/rules</c>.</summary>
    [Function(nameof(GetTenantRules))]
    public async Task<IActionResult> GetTenantRules([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "admin/tenants/{tenant}/rules")] HttpRequest request, string tenant)
    {
        await tenants.GetRulesAsync(request.HttpContext, tenant);
        return new EmptyResult();
    }

    /// <summary><c>PUT /admin/tenants/{tenant}/rules</c>.</summary>
    [Function(nameof(PutTenantRules))]
    public async Task<IActionResult> PutTenantRules([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "admin/tenants/{tenant}/rules")] HttpRequest request, string tenant)
    {
        await tenants.PutRulesAsync(request.HttpContext, tenant);
        return new EmptyResult();
    }

    /// <summary><c>PUT /admin/tenants/{tenant}/quality</c>.</summary>
    [Function(nameof(PutTenantQuality))]
    public async Task<IActionResult> PutTenantQuality([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "admin/tenants/{tenant}/quality")] HttpRequest request, string tenant)
    {
        await tenants.PutQualityAsync(request.HttpContext, tenant);
        return new EmptyResult();
    }
}
