using System.ComponentModel.DataAnnotations;

namespace Router.Infrastructure.Providers;

/// <summary>Transport settings for provider calls (section <c>Router:Execution</c>).</summary>
public sealed class ProviderClientOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Router:Execution";

    /// <summary>Longest wait for a provider's response headers on one attempt (default 60 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Longest wait to open a connection (default 5 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
