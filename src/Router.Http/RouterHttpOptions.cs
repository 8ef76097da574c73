namespace Router.Http;

/// <summary>Settings of the HTTP surface that depend on the host.</summary>
public sealed class RouterHttpOptions
{
    /// <summary>Tenant served without a key to loopback callers, or null to always require a key. Only the self-hosted
    /// server sets it, and only while it is bound to loopback with no keys configured.</summary>
    public string? AnonymousLoopbackTenant { get; set; }
}
