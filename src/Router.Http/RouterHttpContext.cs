using Microsoft.AspNetCore.Http;
using Router.Core.Pipeline;

namespace Router.Http;

/// <summary>Per-request state shared by the handlers: the request id, assigned once and echoed on every response.</summary>
public static class RouterHttpContext
{
    private const string RequestIdItem = "router.request-id";

    /// <summary>Assigns the request id (if not yet assigned), sets <c>x-router-request-id</c> and returns the id.</summary>
    public static string Begin(HttpContext context, TimeProvider time)
    {
        if (context.Items.TryGetValue(RequestIdItem, out var existing) && existing is string id)
        {
            return id;
        }

        id = "req_" + Guid.CreateVersion7(time.GetUtcNow()).ToString("N");
        context.Items[RequestIdItem] = id;
        context.Response.Headers[RouterHeaders.RequestId] = id;
        return id;
    }
}
