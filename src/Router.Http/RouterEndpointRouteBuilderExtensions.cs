using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
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
        // Uptime monitors probe with HEAD; a 405 there reads as the router being down.
        endpoints.MapMethods("/health", [HttpMethods.Get, HttpMethods.Head], (HttpContext context, HealthHandler handler) => handler.HandleAsync(context));

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

        // Routing picks the fallback over its own bare 405 when a path exists only for other methods: the fallback tells
        // the two apart, so a wrong method gets 405 with Allow and only an unknown path gets 404. Its pattern is a plain
        // catch-all, not MapFallback's default {*path:nonfile}: that skips a last segment with a dot (a model id such as
        // gpt-4.1, or /v1/models.json), which then got routing's bare 404. The server serves no static files.
        var routes = new Lazy<(TemplateMatcher Matcher, IReadOnlyList<string> Methods)[]>(() => MethodRoutes(endpoints.DataSources));
        endpoints.MapFallback("{**path}", (HttpContext context, TimeProvider time) =>
        {
            RouterHttpContext.Begin(context, time);
            return ErrorResponse.WriteUnmatchedAsync(context, AllowedMethods(routes.Value, context.Request.Path));
        });
        return endpoints;
    }

    private static (TemplateMatcher Matcher, IReadOnlyList<string> Methods)[] MethodRoutes(IEnumerable<EndpointDataSource> sources) =>
        sources.SelectMany(s => s.Endpoints)
            .OfType<RouteEndpoint>()
            .Select(e => (Endpoint: e, Methods: e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods))
            .Where(e => e.Methods is { Count: > 0 })
            .Select(e => (new TemplateMatcher(new RouteTemplate(e.Endpoint.RoutePattern), []), e.Methods!))
            .ToArray();

    private static List<string> AllowedMethods((TemplateMatcher Matcher, IReadOnlyList<string> Methods)[] routes, PathString path)
    {
        var allowed = new List<string>();
        foreach (var (matcher, methods) in routes)
        {
            if (matcher.TryMatch(path, []))
            {
                allowed.AddRange(methods.Where(m => !allowed.Contains(m, StringComparer.OrdinalIgnoreCase)));
            }
        }

        return allowed;
    }
}
