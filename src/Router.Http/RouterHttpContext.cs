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

        id = NewRequestId(time.GetUtcNow());
        context.Items[RequestIdItem] = id;
        context.Response.Headers[RouterHeaders.RequestId] = id;
        context.Response.Headers["x-request-id"] = id;   // where OpenAI's SDKs look for it (err.requestID, _request_id)
        return id;
    }

    /// <summary>
    /// <c>req_</c> and a version-7 UUID (RFC 9562) in 32 hex digits: 48 bits of Unix milliseconds, so ids sort by time,
    /// then 74 random bits from a per-thread generator that the OS's secure source seeds once. <see cref="Guid.CreateVersion7(DateTimeOffset)"/>
    /// asks the kernel for fresh random bytes on every call, a system call per request; a request id needs uniqueness,
    /// not secrecy.
    /// </summary>
    public static string NewRequestId(DateTimeOffset now)
    {
        Span<byte> bytes = stackalloc byte[16];
        (t_random ??= new Random()).NextBytes(bytes);
        var milliseconds = now.ToUnixTimeMilliseconds();
        for (var i = 5; i >= 0; i--)
        {
            bytes[i] = (byte)milliseconds;
            milliseconds >>= 8;
        }

        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x70);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        var uuid = new Guid(bytes, bigEndian: true);
        return string.Create(36, uuid, static (destination, value) =>
        {
            "req_".CopyTo(destination);
            value.TryFormat(destination[4..], out _, "N");
        });
    }

    [ThreadStatic]
    private static Random? t_random;
}
