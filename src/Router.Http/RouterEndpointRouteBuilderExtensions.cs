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
        endpoints.MapPost("/dashboard/logout", (HttpContext context, DashboardHandler handler) => handler.LogoutAsync(context));

        var v1 = endpoints.MapGroup("/v1");
        v1.MapPost("/chat/completions", (HttpContext context, ChatCompletionsHandler handler) => handler.HandleAsync(context));
        v1.MapGet("/models", (HttpContext context, ModelsHandler handler) => handler.HandleAsync(context));
        v1.MapGet("/models/{**id}", (HttpContext context, string id, ModelsHandler handler) => handler.RetrieveAsync(context, id));
        v1.MapPost("/route", (HttpContext context, RoutePreviewHandler handler) => handler.HandleAsync(context));

        v1.MapGet("/usage", (HttpContext context, UsageHandler handler) => handler.HandleAsync(context));

        // The admin API under the contract's /admin and under /manage, the prefix the Azure Functions host allows.
        endpoints.MapAdminApi("/admin");
        endpoints.MapAdminApi(AdminApi.PortablePrefix);

        endpoints.MapFallback((HttpContext context, TimeProvider time) =>
        {
            RouterHttpContext.Begin(context, time);
            return ErrorResponse.WriteAsync(context, RouterError.NotFound($"No route for {context.Request.Method} {context.Request.Path}."));
        });
        return endpoints;
    }
}
