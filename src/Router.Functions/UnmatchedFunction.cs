using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Azure.Functions.Worker;
using Router.Http;
using Router.Http.Admin;
using Router.Http.Errors;

namespace Router.Functions;

/// <summary>
/// Every request no other function serves, answered as the self-hosted server answers it: 405 <c>method_not_allowed</c>
/// with <c>Allow</c> for a path served for other methods, 404 <c>not_found</c> otherwise, in OpenAI's shape. Without it
/// the Functions host answered such requests with its own empty 404. The host tries routes with literal segments before
/// a route that starts with a parameter, so this catch-all comes last; it never sees <c>/admin/…</c>, which the host
/// keeps for its management API.
/// </summary>
public sealed class UnmatchedFunction(TimeProvider time)
{
    // The app's own HTTP triggers with their methods, read once from their attributes; /manage/… goes through the admin
    // API's table, since its trigger takes every method for any path below it.
    private static readonly Lazy<(TemplateMatcher Matcher, string[] Methods)[]> Routes = new(() => typeof(UnmatchedFunction).Assembly.GetTypes()
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance))
        .Where(m => m.GetCustomAttribute<FunctionAttribute>() is { Name: not (nameof(Unmatched) or nameof(AdminFunctions.Manage)) })
        .Select(m => m.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).FirstOrDefault(a => a?.Route is not null))
        .Where(trigger => trigger is not null && !trigger.Route!.StartsWith("admin", StringComparison.OrdinalIgnoreCase))
        .Select(trigger => (
            new TemplateMatcher(TemplateParser.Parse(trigger!.Route!), []),
            (trigger.Methods ?? []).Select(method => method.ToUpperInvariant()).ToArray()))
        .ToArray());

    /// <summary><c>{*path}</c>, any method: the 404 or 405 of a request no endpoint serves.</summary>
    [Function(nameof(Unmatched))]
    public async Task<IActionResult> Unmatched([HttpTrigger(AuthorizationLevel.Anonymous, Route = "{*path}")] HttpRequest request)
    {
        RouterHttpContext.Begin(request.HttpContext, time);
        await ErrorResponse.WriteUnmatchedAsync(request.HttpContext, AllowedMethods(request.Path));
        return new EmptyResult();
    }

    internal static IReadOnlyList<string> AllowedMethods(PathString path)
    {
        if (path.StartsWithSegments(AdminApi.PortablePrefix, StringComparison.OrdinalIgnoreCase, out var below))
        {
            return AdminApi.AllowedMethods(below.Value);
        }

        var allowed = new List<string>();
        foreach (var (matcher, methods) in Routes.Value)
        {
            if (matcher.TryMatch(path, []))
            {
                allowed.AddRange(methods.Where(m => !allowed.Contains(m)));
            }
        }

        return allowed;
    }
}
