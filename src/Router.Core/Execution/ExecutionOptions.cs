using System.ComponentModel.DataAnnotations;

namespace Router.Core.Execution;

/// <summary>Attempts, timeouts and circuit breaking for provider calls (section <c>Router:Execution</c>).</summary>
public sealed class ExecutionOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Router:Execution";

    /// <summary>Most upstream attempts for one request, failovers included (default 3).</summary>
    [Range(1, 10)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Longest wait for a provider's response headers on one attempt (default 60 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Longest wait to open a connection to a provider (default 5 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Budget for all attempts of a request until its answer starts (default 120 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>The default of <see cref="MaxResponseBytes"/>: 64 MiB.</summary>
    public const int DefaultMaxResponseBytes = 64 * 1024 * 1024;

    /// <summary>Most bytes read of one provider answer: a non-streaming body, or one event of a stream (default 64 MiB);
    /// past it the attempt fails like a broken answer.</summary>
    [Range(1024, 1024 * 1024 * 1024)]
    public int MaxResponseBytes { get; set; } = DefaultMaxResponseBytes;

    /// <summary>Longest silence inside a stream before it is treated as broken (default 60 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan StreamIdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Failure share in the sampling window that opens a deployment's breaker (default 0.5).</summary>
    [Range(0.01, 1.0)]
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>Calls needed in the window before the breaker may open (default 10).</summary>
    [Range(1, 10_000)]
    public int BreakerMinimumThroughput { get; set; } = 10;

    /// <summary>Failed calls in a row that open a deployment's breaker whatever the traffic (default 5; 0 turns the rule
    /// off). At low traffic a deployment that hangs never reaches <see cref="BreakerMinimumThroughput"/> within the
    /// window, since each call takes the whole attempt timeout.</summary>
    [Range(0, 10_000)]
    public int BreakerConsecutiveFailures { get; set; } = 5;

    /// <summary>Window over which failures are counted (default 30 s).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan BreakerSamplingWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open breaker skips the deployment before a half-open probe (default 30 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Cool-down after a 429 or 503 that carries no retry hint (default 5 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan DefaultCoolDown { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest cool-down honoured from a provider's retry hint (default 10 min).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxCoolDown { get; set; } = TimeSpan.FromMinutes(10);
}
