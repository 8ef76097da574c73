using System.Globalization;
using Microsoft.AspNetCore.Http;
using Router.Core.Chat;

namespace Router.Http.Errors;

/// <summary>The one place where a <see cref="RouterError"/> becomes an HTTP response.</summary>
public static class ErrorResponse
{
    /// <summary>Writes <paramref name="error"/> as OpenAI-style JSON with its status and <c>Retry-After</c>.</summary>
    public static Task WriteAsync(HttpContext context, RouterError error)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            return Task.CompletedTask;
        }

        response.StatusCode = error.Status;
        response.ContentType = "application/json";
        if (error.RetryAfter is { } retryAfter)
        {
            response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        if (error.RetryIsFutile)
        {
            response.Headers["x-should-retry"] = "false";
        }
        else if (error.RetryWillHelp)
        {
            response.Headers["x-should-retry"] = "true";
        }

        if (error.Status == 401)
        {
            response.Headers.WWWAuthenticate = "Bearer";
        }

        var body = ErrorEnvelope.Serialize(error);
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    /// <summary>The answer to a request no endpoint serves, the same on both hosts: 405 <c>method_not_allowed</c> with
    /// <c>Allow</c> when the path is served for <paramref name="allowed"/> methods only, else 404 <c>not_found</c>.</summary>
    public static Task WriteUnmatchedAsync(HttpContext context, IReadOnlyCollection<string> allowed)
    {
        if (allowed.Count > 0)
        {
            context.Response.Headers.Allow = string.Join(", ", allowed);
            return WriteAsync(context, RouterError.MethodNotAllowed(context.Request.Method, context.Request.Path));
        }

        return WriteAsync(context, RouterError.NotFound($"No route for {context.Request.Method} {context.Request.Path}."));
    }
}
