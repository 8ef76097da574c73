using System.ComponentModel.DataAnnotations;

namespace Router.Server;

/// <summary>Request line and header limits of the self-hosted server (section <c>Router:Server</c>). Kestrel's own limits
/// are set to twice these, so a request up to that size reaches <see cref="RequestHeaderLimits"/> and is refused in
/// OpenAI's error shape; beyond it Kestrel refuses it with a bodiless response.</summary>
public sealed class RouterServerOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Router:Server";

    /// <summary>Longest request line (method, target with its query, version) in bytes (default 8192); longer gets 414.</summary>
    [Range(1024, 64 * 1024)]
    public int MaxRequestLineBytes { get; set; } = 8 * 1024;

    /// <summary>Largest total of the request's header lines in bytes (default 32768); more gets 431.</summary>
    [Range(1024, 256 * 1024)]
    public int MaxRequestHeadersTotalBytes { get; set; } = 32 * 1024;

    /// <summary>Most request header lines (default 100); more get 431.</summary>
    [Range(8, 1000)]
    public int MaxRequestHeaderCount { get; set; } = 100;
}
