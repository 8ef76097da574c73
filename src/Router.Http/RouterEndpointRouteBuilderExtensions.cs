using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Router.Core.Chat;
using Router.Http;
using Router.Http.Admin;
using Router.Http.Routing;
using Router.Http.Catalog;
using Router.Http.Dashboard;
using Router.Http.Chat;
using Router.Http.Errors;
using Router.Http.Health;
using Router.Http.Metering;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the router's OpenAI-compatible endpoints (the self-hosted server; the Functions app maps them as triggers).</summary>
public static class RouterEndpointRouteBuilderExtensions
{
    /// <summary>Maps every endpoint of the public contract, plus OpenAI-style 404/405 answers for anything else.</summary>
    public static IEndpointRouteBuilder MapRouterEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/health", (HttpContext context, HealthHandler handler) => handler.HandleAsync(context));

        endpoints.MapGet("/dashboard", (HttpContext context, DashboardHandler handler) => handler.PageAsync(context));
        endpoints.MapPost("/dashboard/login", (HttpContext context, DashboardHandler handler) => handler.LoginAsync(context));

        var v1 = endpoints.MapGroup("/v1");
        v1.MapPost("/chat/completions", (HttpContext context, ChatCompletionsHandler handler) => handler.HandleAsync(context));
        v1.MapGet("/models", (HttpContext context, ModelsHandler handler) => handler.HandleAsync(context));
        v1.MapPost("/route", (HttpContext context, RoutePreviewHandler handler) => handler.HandleAsync(context));

        v1.MapGet("/usage", (HttpContext context, UsageHandler handler) => handler.HandleAsync(context));

        var admin = endpoints.MapGroup("/admin");
        admin.MapPost("/keys", (HttpContext context, AdminKeysHandler handler) => handler.CreateAsync(context));
        admin.MapGet("/keys", (HttpContext context, AdminKeysHandler handler) => handler.ListAsync(context));
        admin.MapDelete("/keys/{id}", (HttpContext context, string id, AdminKeysHandler handler) => handler.RevokeAsync(context, id));
        admin.MapPost("/keys/{id}/rotate", (HttpContext context, string id, AdminKeysHandler handler) => handler.RotateAsync(context, id));
        admin.MapGet("/dashboard/data", (HttpContext context, DashboardHandler handler) => handler.DataAsync(context));
        admin.MapGet("/weights", (HttpContext context, AdminWeightsHandler handler) => handler.GetAsync(context));
        admin.MapPost("/weights/recompute", (HttpContext context, AdminWeightsHandler handler) => handler.RecomputeAsync(context));
        admin.MapPost("/tenants", (HttpContext context, AdminTenantsHandler handler) => handler.CreateAsync(context));
        admin.MapGet("/tenants", (HttpContext context, AdminTenantsHandler handler) => handler.ListAsync(context));
        admin.MapGet("/tenants/{tenant}", (HttpContext context, string tenant, AdminTenantsHandler handler) => handler.GetAsync(context, tenant));
        admin.MapPut("/tenants/{tenant}", (HttpContext context, string tenant, AdminTenantsHandler handler) => handler.UpdateAsync(context, tenant));
        admin.MapGet("/tenants/{tenant}/rules", (HttpContext context, string tenant, AdminTenantsHandler handler) => handler.GetRulesAsync(context, tenant));
        admin.MapPut("/tenants/{tenant}/rules", (HttpContext context, string tenant, AdminTenantsHandler handler) => handler.PutRulesAsync(context, tenant));
        admin.MapPut("/tenants/{tenant}/quality", (HttpContext context, string tenant, AdminTenantsHandler handler) => handler.PutQualityAsync(context, tenant));

        endpoints.MapFallback((HttpContext context, TimeProvider time) =>
        {
            RouterHttpContext.Begin(context, time);
            return ErrorResponse.WriteAsync(context, RouterError.NotFound($"No route for {context.Request.Method} {context.Request.Path}."));
        });
        return endpoints;
    }
}
