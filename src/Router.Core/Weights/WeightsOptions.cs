using System.ComponentModel.DataAnnotations;

namespace Router.Core.Weights;

/// <summary>Learning routing weights from audits (section <c>Router:Weights</c>).</summary>
public sealed class WeightsOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Router:Weights";

    /// <summary>NCRONTAB schedule of the Functions timer that recomputes weights (default every 5 minutes).</summary>
    [Required]
    public string Schedule { get; set; } = "0 */5 * * * *";

    /// <summary>How often the self-hosted server recomputes (default 5 min).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "7.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often every router reloads the current snapshot (default 30 s, so a new one is in use within a minute).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Half-life of an audit's weight (default 7 days): recent audits count more.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "365.00:00:00")]
    public TimeSpan HalfLife { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Audits older than this are ignored (default 30 days).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Share of answers that must be at least as good as premium for a tier to keep a band (default 0.8).</summary>
    [Range(0.0, 1.0)]
    public double Target { get; set; } = 0.8;

    /// <summary>Decayed audits needed before a band or model may change state (default 20).</summary>
    [Range(1.0, 1_000_000.0)]
    public double MinAudits { get; set; } = 20;

    /// <summary>z of the credible bounds (default 1.645: one-sided 95%).</summary>
    [Range(0.0, 5.0)]
    public double Confidence { get; set; } = 1.645;

    /// <summary>Share of audited semantic hits judged worse than a fresh answer above which a tenant's threshold rises (default 0.05).</summary>
    [Range(0.0, 1.0)]
    public double CacheFalseHitBound { get; set; } = 0.05;

    /// <summary>Audited semantic hits needed before a tenant's threshold may rise (default 10).</summary>
    [Range(1, 100_000)]
    public int CacheMinAudits { get; set; } = 10;

    /// <summary>How much a tenant's semantic threshold rises at a time (default 0.02, up to 0.99).</summary>
    [Range(0.001, 0.2)]
    public float CacheThresholdStep { get; set; } = 0.02f;
}
