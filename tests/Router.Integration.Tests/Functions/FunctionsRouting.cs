using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;

namespace Router.Integration.Tests.Functions;

/// <summary>
/// Routes a request to a function the way the Functions host does, from the generated <c>functions.metadata</c>: the
/// host refuses functions whose route starts with <c>admin</c> (its own management API), orders the others literal
/// segments before parameters, longer before shorter, and takes the first whose template and methods match. No match
/// is the host's own bare 404, which is what <see cref="Send"/> returns then (no body, no request id).
/// </summary>
internal sealed class FunctionsRouting
{
    private readonly (string EntryPoint, RouteTemplate Template, string[]? Methods)[] _routes;

    public FunctionsRouting()
    {
        _routes = FunctionsMetadataTests.LoadMetadata()
            .Select(f => (Function: f!, Trigger: f!["bindings"]!.AsArray().FirstOrDefault(b => b!["type"]!.GetValue<string>() == "httpTrigger")))
            .Where(f => f.Trigger is not null)
            .Select(f => (
                EntryPoint: f.Function["entryPoint"]!.GetValue<string>(),
                Route: f.Trigger!["route"]!.GetValue<string>(),
                Methods: (f.Trigger["methods"] as JsonArray)?.Select(m => m!.GetValue<string>().ToUpperInvariant()).ToArray()))
            .Where(f => !f.Route.StartsWith("admin", StringComparison.OrdinalIgnoreCase))
            .Select(f => (f.EntryPoint, TemplateParser.Parse(f.Route), f.Methods))
            .OrderBy(f => f.Item2, Comparer<RouteTemplate>.Create(HostOrder))
            .ToArray();
    }

    /// <summary>Invokes the function the host would pick for <paramref name="context"/>'s request and returns the
    /// response body; null when no function matches (the host answers a bare 404 itself).</summary>
    public async Task<string?> Send(FunctionsHost host, HttpContext context)
    {
        foreach (var (entryPoint, template, methods) in _routes)
        {
            var values = new RouteValueDictionary();
            if ((methods is null || methods.Contains(context.Request.Method, StringComparer.OrdinalIgnoreCase))
                && new TemplateMatcher(template, []).TryMatch(context.Request.Path, values))
            {
                var split = entryPoint.LastIndexOf('.');
                var type = typeof(Router.Functions.HttpFunctions).Assembly.GetType(entryPoint[..split], throwOnError: true)!;
                var method = type.GetMethod(entryPoint[(split + 1)..])!;
                var instance = host.Create(type);
                var arguments = method.GetParameters()
                    .Select(p => p.ParameterType == typeof(HttpRequest) ? context.Request : (object?)values[p.Name!]?.ToString())
                    .ToArray();
                var result = await (Task<IActionResult>)method.Invoke(instance, arguments)!;
                return await FunctionsHost.CompleteAsync(context, result);
            }
        }

        return null;
    }

    // Literal segments before parameters (alphabetically among literals), more constraints first, longer before shorter.
    private static int HostOrder(RouteTemplate x, RouteTemplate y)
    {
        for (var i = 0; i < x.Segments.Count; i++)
        {
            if (i >= y.Segments.Count)
            {
                return -1;
            }

            var a = x.Segments[i].Parts[0];
            var b = y.Segments[i].Parts[0];
            if (a.IsParameter != b.IsParameter)
            {
                return a.IsParameter ? 1 : -1;
            }

            var order = a.IsParameter
                ? b.InlineConstraints.Count().CompareTo(a.InlineConstraints.Count())
                : string.Compare(a.Text, b.Text, StringComparison.OrdinalIgnoreCase);
            if (order != 0)
            {
                return order;
            }
        }

        return y.Segments.Count > x.Segments.Count ? 1 : 0;
    }
}
