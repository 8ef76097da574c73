using Microsoft.AspNetCore.Http;

namespace Router.Http.Health;

/// <summary><c>GET /health</c> (and <c>HEAD</c>): 200 while the process serves.</summary>
public sealed class HealthHandler(TimeProvider time)
{
    private static readonly byte[] Ok = """{"status":"ok"}"""u8.ToArray();

    /// <summary>Writes <c>{"status":"ok"}</c>; to a <c>HEAD</c> request only its headers.</summary>
    public Task HandleAsync(HttpContext context)
    {
        RouterHttpContext.Begin(context, time);
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = Ok.Length;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return Task.CompletedTask;
        }

        return context.Response.Body.WriteAsync(Ok, context.RequestAborted).AsTask();
    }
}
