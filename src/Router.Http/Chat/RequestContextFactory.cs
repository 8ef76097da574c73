using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Router.Core.Metering;
using Router.Core.Pipeline;

namespace Router.Http.Chat;

/// <summary>Builds the pipeline's <see cref="RequestContext"/> from an HTTP request.</summary>
internal static class RequestContextFactory
{
    // Headers tenant rules may match on; never credentials.
    private static readonly string[] IgnoredHeaders = ["authorization", "api-key", "cookie", "proxy-authorization"];

    public static RequestContext Create(HttpContext context, string requestId, Caller caller, TimeProvider time)
    {
        var headers = context.Request.Headers;
        var cacheControl = headers.CacheControl.ToString();
        var visible = new Dictionary<string, string>(headers.Count, StringComparer.Ordinal);
        foreach (var (name, value) in headers)
        {
            var lower = LowerCase(name);
            if (Array.IndexOf(IgnoredHeaders, lower) < 0)
            {
                visible[lower] = value.ToString();
            }
        }

        return new RequestContext
        {
            RequestId = requestId,
            TenantId = caller.TenantId,
            KeyId = caller.KeyId,
            Limits = caller.Limits ?? KeyLimits.None,
            LimitsKeyId = caller.LimitsKeyId,
            SessionId = SessionIdOf(headers["x-session-id"].ToString()),
            NoCache = cacheControl.Contains("no-cache", StringComparison.OrdinalIgnoreCase),
            NoStore = cacheControl.Contains("no-store", StringComparison.OrdinalIgnoreCase),
            Headers = visible,
            ReceivedAt = time.GetUtcNow(),
        };
    }

    // Kestrel hands the same name strings for the headers it knows and clients send the same few names, so their lower-case
    // forms are kept (up to a bound, so a client inventing names cannot grow it) instead of being made again per request.
    private const int MaxLowerCaseNames = 512;
    private static readonly ConcurrentDictionary<string, string> LowerCaseNames = new(StringComparer.Ordinal);
    private static int _lowerCaseNameCount;   // ConcurrentDictionary.Count takes every lock

    private static string LowerCase(string name)
    {
        if (LowerCaseNames.TryGetValue(name, out var lower))
        {
            return lower;
        }

        lower = name.ToLowerInvariant();
        if (Volatile.Read(ref _lowerCaseNameCount) < MaxLowerCaseNames && LowerCaseNames.TryAdd(name, lower))
        {
            Interlocked.Increment(ref _lowerCaseNameCount);
        }

        return lower;
    }

    /// <summary>Longest <c>x-session-id</c> kept as sent; a longer one is replaced by a hash of it, so an id stays the same
    /// session while its size (held by the loop guard, written in every usage row) stays bounded.</summary>
    public const int MaxSessionIdLength = 128;

    private static string? SessionIdOf(string value) => value.Length switch
    {
        0 => null,
        <= MaxSessionIdLength => value,
        _ => "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(value))),
    };
}
