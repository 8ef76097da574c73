using Router.Core.Metering;

namespace Router.Core.Pipeline;

/// <summary>Who is calling and how: identity, request id and the request headers the router honours.</summary>
public sealed record RequestContext
{
    /// <summary>The router's id for this request (also <c>x-router-request-id</c>).</summary>
    public required string RequestId { get; init; }

    /// <summary>The caller's tenant.</summary>
    public required string TenantId { get; init; }

    /// <summary>The API key's id; null for the anonymous loopback tenant.</summary>
    public string? KeyId { get; init; }

    /// <summary>Limits of the caller's key.</summary>
    public KeyLimits Limits { get; init; } = KeyLimits.None;

    /// <summary>The key id the caller's budgets and rate limits are counted under (see <see cref="Caller.LimitsScope"/>).</summary>
    public string? LimitsKeyId { get; init; }

    /// <summary><c>x-session-id</c>, grouping an agent's calls.</summary>
    public string? SessionId { get; init; }

    /// <summary><c>Cache-Control: no-cache</c>: do not read the cache.</summary>
    public bool NoCache { get; init; }

    /// <summary><c>Cache-Control: no-store</c>: neither read nor write the cache.</summary>
    public bool NoStore { get; init; }

    /// <summary>Request headers (lower-case names) that tenant rules may match on.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = EmptyHeaders;

    /// <summary>When the router received the request.</summary>
    public DateTimeOffset ReceivedAt { get; init; }

    /// <summary>The key loops and session spend are tracked by: the session id, else the key, else the tenant.</summary>
    public string SessionKey => SessionId is { } session ? $"{TenantId}|s|{session}" : KeyId is { } key ? $"{TenantId}|k|{key}" : $"{TenantId}|t";

    /// <summary>The caller as metering sees it.</summary>
    public Caller Caller => new(TenantId, KeyId, Limits, LimitsKeyId);

    private static readonly Dictionary<string, string> EmptyHeaders = [];
}
