using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.DependencyInjection;
using Router.Http.Dashboard;

namespace Router.Http.Admin;

/// <summary>
/// The admin API in one table, served under two prefixes. <c>/admin</c> is the contract's; <c>/manage</c> is the same
/// API where <c>/admin</c> cannot be had: the Azure Functions host reserves every route that starts with <c>admin</c>
/// for its own management API and refuses such functions at start-up ("The specified route conflicts with one or more
/// built in routes"), so on Azure Functions the admin API is reached at <c>/manage/…</c>. The self-hosted server maps
/// both prefixes; the Functions app serves <c>/manage/{*path}</c> with one trigger that dispatches through this table.
/// </summary>
public static class AdminApi
{
    /// <summary>The prefix that works on every host, the Functions app included.</summary>
    public const string PortablePrefix = "/manage";

    private static readonly (string Method, RouteTemplate Template, Func<HttpContext, RouteValueDictionary, Task> Handle)[] Endpoints =
    [
        Endpoint("POST", "keys", (c, _) => Service<AdminKeysHandler>(c).CreateAsync(c)),
        Endpoint("GET", "keys", (c, _) => Service<AdminKeysHandler>(c).ListAsync(c)),
        Endpoint("DELETE", "keys/{id}", (c, v) => Service<AdminKeysHandler>(c).RevokeAsync(c, Value(v, "id"))),
        Endpoint("POST", "keys/{id}/rotate", (c, v) => Service<AdminKeysHandler>(c).RotateAsync(c, Value(v, "id"))),
        Endpoint("GET", "dashboard/data", (c, _) => Service<DashboardHandler>(c).DataAsync(c)),
        Endpoint("GET", "weights", (c, _) => Service<AdminWeightsHandler>(c).GetAsync(c)),
        Endpoint("POST", "weights/recompute", (c, _) => Service<AdminWeightsHandler>(c).RecomputeAsync(c)),
        Endpoint("GET", "audits/poison", (c, _) => Service<AdminAuditsHandler>(c).InspectAsync(c)),
        Endpoint("POST", "audits/redrive", (c, _) => Service<AdminAuditsHandler>(c).RedriveAsync(c)),
        Endpoint("POST", "tenants", (c, _) => Service<AdminTenantsHandler>(c).CreateAsync(c)),
        Endpoint("GET", "tenants", (c, _) => Service<AdminTenantsHandler>(c).ListAsync(c)),
        Endpoint("GET", "tenants/{tenant}", (c, v) => Service<AdminTenantsHandler>(c).GetAsync(c, Value(v, "tenant"))),
        Endpoint("PUT", "tenants/{tenant}", (c, v) => Service<AdminTenantsHandler>(c).UpdateAsync(c, Value(v, "tenant"))),
        Endpoint("GET", "tenants/{tenant}/rules", (c, v) => Service<AdminTenantsHandler>(c).GetRulesAsync(c, Value(v, "tenant"))),
        Endpoint("PUT", "tenants/{tenant}/rules", (c, v) => Service<AdminTenantsHandler>(c).PutRulesAsync(c, Value(v, "tenant"))),
        Endpoint("PUT", "tenants/{tenant}/quality", (c, v) => Service<AdminTenantsHandler>(c).PutQualityAsync(c, Value(v, "tenant"))),
    ];

    /// <summary>Maps every admin endpoint under <paramref name="prefix"/> (<c>/admin</c> or <c>/manage</c>).</summary>
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder endpoints, string prefix)
    {
        foreach (var (method, template, handle) in Endpoints)
        {
            endpoints.MapMethods(prefix + "/" + template.TemplateText, [method], (HttpContext context) => handle(context, context.Request.RouteValues));
        }

        return endpoints;
    }

    /// <summary>Serves <paramref name="path"/> (below the prefix, e.g. <c>tenants/acme/rules</c>) with the endpoint the
    /// table has for it; false when none matches the path and method.</summary>
    public static async Task<bool> DispatchAsync(HttpContext context, string? path)
    {
        var requestPath = new PathString("/" + (path ?? "").Trim('/'));
        foreach (var (method, template, handle) in Endpoints)
        {
            var values = new RouteValueDictionary();
            if (string.Equals(context.Request.Method, method, StringComparison.OrdinalIgnoreCase)
                && new TemplateMatcher(template, []).TryMatch(requestPath, values))
            {
                await handle(context, values);
                return true;
            }
        }

        return false;
    }

    /// <summary>The methods the table serves <paramref name="path"/> (below the prefix) for, in the table's order; empty
    /// when no endpoint has that path.</summary>
    public static IReadOnlyList<string> AllowedMethods(string? path)
    {
        var requestPath = new PathString("/" + (path ?? "").Trim('/'));
        var allowed = new List<string>();
        foreach (var (method, template, _) in Endpoints)
        {
            if (!allowed.Contains(method) && new TemplateMatcher(template, []).TryMatch(requestPath, []))
            {
                allowed.Add(method);
            }
        }

        return allowed;
    }

    private static (string, RouteTemplate, Func<HttpContext, RouteValueDictionary, Task>) Endpoint(
        string method, string template, Func<HttpContext, RouteValueDictionary, Task> handle) =>
        (method, TemplateParser.Parse(template), handle);

    private static T Service<T>(HttpContext context)
        where T : notnull => context.RequestServices.GetRequiredService<T>();

    private static string Value(RouteValueDictionary values, string name) => values[name]?.ToString() ?? "";
}
