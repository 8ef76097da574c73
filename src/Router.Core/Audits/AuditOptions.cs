using System.ComponentModel.DataAnnotations;

namespace Router.Core.Audits;

/// <summary>Quality audits (section <c>Router:Audits</c>).</summary>
public sealed class AuditOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Router:Audits";

    /// <summary>Whether answers are sampled for audit at all (default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Share of economy and standard answers audited (default 0.05).</summary>
    [Range(0.0, 1.0)]
    public double SampleRate { get; set; } = 0.05;

    /// <summary>Share of medium/high-risk answers not served by premium that are audited (default 1).</summary>
    [Range(0.0, 1.0)]
    public double RiskSampleRate { get; set; } = 1.0;

    /// <summary>Share of semantic cache hits audited (default 0.02).</summary>
    [Range(0.0, 1.0)]
    public double SemanticHitSampleRate { get; set; } = 0.02;

    /// <summary>Share of answers in bands that learned weights raised, whatever tier served them, re-tested against the
    /// tier the band was raised from so it can be rehabilitated (default 0.1).</summary>
    [Range(0.0, 1.0)]
    public double ProbeSampleRate { get; set; } = 0.10;

    /// <summary>Audit jobs one router instance queues per minute at most, whatever chose them (default 30, refilled
    /// continuously): each costs a premium reference answer and two judge calls, so a burst of risky traffic on a cheap
    /// tier must not cost more in audits than routing saved. Answers sampled past it are not audited and are counted
    /// (<c>router.audits.skipped</c>).</summary>
    [Range(1, 1_000_000)]
    public int MaxPerMinute { get; set; } = 30;

    /// <summary>Seed for sampling: the same request id and seed always give the same choice (default 0).</summary>
    public int Seed { get; set; }

    /// <summary>Storage queue of audit jobs (default <c>quality-audits</c>; its poison queue is <c>-poison</c>).</summary>
    [Required]
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")]
    public string QueueName { get; set; } = "quality-audits";

    /// <summary>Blob container for job payloads too large for a queue message (default <c>audit-payloads</c>).</summary>
    [Required]
    public string PayloadContainer { get; set; } = "audit-payloads";

    /// <summary>Model that writes reference answers (default: the baseline premium model).</summary>
    public string? ReferenceModel { get; set; }

    /// <summary>Model that judges (default: the baseline premium model).</summary>
    public string? JudgeModel { get; set; }

    /// <summary>Deliveries of a job before it goes to the poison queue (Functions host.json: <c>maxDequeueCount</c>; default 5).</summary>
    [Range(1, 100)]
    public int MaxDequeueCount { get; set; } = 5;

    /// <summary>First retry delay of a failed job in the self-hosted server; four times longer per failed delivery, at most
    /// an hour (default 15 s: 15 s, 1, 4, 16 min, so a model outage of minutes delays audits rather than poisoning them).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a job taken by the self-hosted server's worker stays invisible to other instances; renewed at
    /// half this interval while the audit runs, so a slow judge does not hand the job to a second instance (default 2 min).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Longest prompt or answer kept in a job, in characters (default 32,000; longer text is cut in the middle).</summary>
    [Range(1000, 1_000_000)]
    public int MaxTextChars { get; set; } = 32_000;
}
