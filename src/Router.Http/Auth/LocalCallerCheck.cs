using System.Buffers;
using System.Net;
using Microsoft.AspNetCore.Http;

namespace Router.Http.Auth;

/// <summary>
/// Whether a request from a loopback connection comes from a process of the machine's own user, which the keyless
/// <c>local</c> tenant is for, rather than from someone that merely reaches loopback: a web page in that user's browser
/// (its <c>Origin</c> or <c>Sec-Fetch-Site</c>), a page on a DNS name rebound to 127.0.0.1 (its <c>Host</c>), or a
/// remote client relayed by a reverse proxy on the same host (its <c>Forwarded</c> headers).
/// </summary>
internal static class LocalCallerCheck
{
    private static readonly SearchValues<char> AddressCharacters = SearchValues.Create("0123456789abcdefABCDEF.:");

    /// <summary>Why the request may not be served without a key, or null when nothing says it is not local.</summary>
    public static LocalCallerRefusal? Check(HttpRequest request)
    {
        var headers = request.Headers;
        if (headers.ContainsKey("Forwarded") || headers.ContainsKey("X-Forwarded-For") || headers.ContainsKey("X-Real-IP"))
        {
            return LocalCallerRefusal.Forwarded;
        }

        // A request without Host is an HTTP/1.0 tool's; browsers always send the name they resolved.
        if (request.Host.HasValue && !IsLoopbackHost(request.Host.Host))
        {
            return LocalCallerRefusal.ForeignHost;
        }

        // Browsers send Origin on every POST and every CORS request; a page served from loopback (a local app on
        // localhost:3000) is the user's own. 'null' is an opaque origin: a sandboxed frame, a file, a redirect.
        var origin = headers.Origin;
        if (origin.Count > 0)
        {
            return origin.Count == 1 && Uri.TryCreate(origin.ToString(), UriKind.Absolute, out var uri) && IsLoopbackHost(uri.Host)
                ? null
                : LocalCallerRefusal.WebPage;
        }

        // No Origin: a GET the page made without CORS (an image, a script) still says where it came from.
        return string.Equals(headers["Sec-Fetch-Site"].ToString(), "cross-site", StringComparison.OrdinalIgnoreCase)
            ? LocalCallerRefusal.WebPage
            : null;
    }

    /// <summary><c>localhost</c> or a loopback address (any of 127.0.0.0/8, <c>::1</c>, bracketed or not); not a DNS name
    /// that resolves to one, since that resolution is what a rebinding page controls.</summary>
    internal static bool IsLoopbackHost(string host)
    {
        if (host.Length > 2 && host[0] == '[' && host[^1] == ']')
        {
            host = host[1..^1];
        }

        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        // Only what can be an address literal is parsed: the parser is lenient in ways a DNS name must not benefit from.
        return host.Length > 0
            && host.AsSpan().IndexOfAnyExcept(AddressCharacters) < 0
            && IPAddress.TryParse(host, out var address)
            && IPAddress.IsLoopback(address);
    }
}

/// <summary>What makes a loopback request not the machine user's own.</summary>
internal enum LocalCallerRefusal
{
    /// <summary>It carries <c>Forwarded</c>, <c>X-Forwarded-For</c> or <c>X-Real-IP</c>: a proxy relays another client.</summary>
    Forwarded,

    /// <summary>Its <c>Host</c> is not a loopback name or address: a page on a rebound DNS name, or a proxy passing a public name on.</summary>
    ForeignHost,

    /// <summary>A browser sent it for a page of another origin.</summary>
    WebPage,
}
