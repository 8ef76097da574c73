using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Analysis;
using Router.Core.Catalog;
using Router.Core.Metering;
using Router.Core.Routing;
using Router.Core.Telemetry;

namespace Router.Core.Audits;

/// <summary>Decides which answers are audited and why. Deterministic: a request id and the seed always give the same
/// choice, so tests and replays are repeatable. What it chooses is then queued only while the allowance of audits per
/// minute lasts (<see cref="Admit"/>): the instance's own, and with a <paramref name="shared"/> store the one all instances share.</summary>
public sealed partial class AuditSampler(IOptions<AuditOptions> options, TimeProvider time, RouterTelemetry telemetry, ILogger<AuditSampler> logger,
    IAuditAllowanceStore? shared = null) : IDisposable
{
    private const int ProbeSalt = 0x5EED9A0B;

    private readonly AuditAllowance _allowance = new(time);
    private readonly SharedAuditAllowance? _shared = shared is null ? null : new(shared, time, logger);
    private long _skipped;
    private long _lastReportTicks;   // 0: the first skip is reported (now minus long.MinValue would overflow)

    /// <summary>The reason to audit an answer, or null to leave it alone.</summary>
    /// <param name="requestId">The request id (the sampling key).</param>
    /// <param name="policy">The tenant's policy (opt-out, rate).</param>
    /// <param name="profile">The analysis (risk).</param>
    /// <param name="decision">The routing decision (forced audits, raised bands).</param>
    /// <param name="servedTier">Tier of the model that answered.</param>
    /// <param name="cache">Cache status of the answer.</param>
    public string? Choose(string requestId, TenantPolicy policy, RequestProfile profile, RoutingDecision decision, ModelTier servedTier, string cache)
    {
        var settings = options.Value;
        if (!settings.Enabled || policy.AuditOptOut)
        {
            return null;
        }

        var roll = Roll(requestId, settings.Seed);
        if (cache == "semantic")
        {
            return roll < settings.SemanticHitSampleRate ? AuditReasons.SemanticHit : null;
        }

        if (cache == "exact")
        {
            return null;
        }

        if (decision.ForceAudit && servedTier < ModelTier.Premium)
        {
            return AuditReasons.Rule;
        }

        if (servedTier < ModelTier.Premium && profile.Risk.Level >= RiskLevel.Medium && roll < settings.RiskSampleRate)
        {
            return AuditReasons.Risk;
        }

        // A band the weights raised is served above the tier the table chose, so that tier gets no sampled audits there
        // any more: probes re-test it, whatever tier served, or the band could never come down again. They come before
        // sampled audits (a tenant sampling every answer would starve them) on a roll of their own, so the serving
        // tier keeps all but the probe rate's share of its sampled audits.
        if (decision.RaisedFrom is { } raisedFrom && servedTier > raisedFrom && Roll(requestId, settings.Seed ^ ProbeSalt) < settings.ProbeSampleRate)
        {
            return AuditReasons.Probe;
        }

        return servedTier < ModelTier.Premium && roll < (policy.AuditSampleRate ?? settings.SampleRate) ? AuditReasons.Sampled : null;
    }

    /// <summary>Whether an answer chosen for <paramref name="reason"/> may be queued now: false once this instance has queued
    /// <see cref="AuditOptions.MaxPerMinute"/> audits in the last minute, or (with a shared store) holds no audit leased
    /// from the minute's allowance of all instances and has used the minute's one audit on credit, and for sampled, risk
    /// and semantic-hit audits once only the fifth of it kept for probes and rule-forced audits is left. A refused one is counted (<c>router.audits.skipped</c>) and
    /// reported in a warning at most once a minute. Never waits.</summary>
    /// <remarks>Asked just before a job is queued, after every other reason not to audit, so answers that would not have
    /// been audited anyway (personal data, a pinned model) do not spend the allowance.</remarks>
    public bool Admit(string reason)
    {
        // Probes (the only way a raised band comes back down) and audits a tenant's rule demands keep the last fifth of the
        // minute's allowance: a burst of risky or sampled answers cannot spend it.
        var perMinute = options.Value.MaxPerMinute;
        var priority = reason is AuditReasons.Probe or AuditReasons.Rule;
        if (_allowance.TryTake(perMinute, priority ? 0 : perMinute / 5))
        {
            // The instance's own allowance always applies, the shared one on top: scaled out, all instances together stay
            // within the cap (but for one audit on credit per instance a minute, see SharedAuditAllowance).
            if (_shared is null || _shared.TryTake(perMinute, priority))
            {
                return true;
            }

            _allowance.Return();
        }

        telemetry.AuditSkipped(reason, AuditSkips.Cap);
        Interlocked.Increment(ref _skipped);
        var now = time.GetUtcNow().UtcTicks;
        var last = Interlocked.Read(ref _lastReportTicks);
        if (now - last >= TimeSpan.TicksPerMinute && Interlocked.CompareExchange(ref _lastReportTicks, now, last) == last)
        {
            Log.AuditsCapped(logger, Interlocked.Exchange(ref _skipped, 0), options.Value.MaxPerMinute);
        }

        return false;
    }

    /// <summary>A uniform number in [0, 1) from the request id and seed.</summary>
    public static double Roll(string requestId, int seed)
    {
        Span<byte> hash = stackalloc byte[8];
        XxHash64.Hash(Encoding.UTF8.GetBytes(requestId), hash, seed);
        return (BinaryPrimitives.ReadUInt64LittleEndian(hash) >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>The band name used in audit rows and weights for a complexity.</summary>
    public static string Band(double complexity) => ComplexityBands.Of(complexity).ToWire();

    /// <summary>Stops leasing from the shared allowance.</summary>
    public void Dispose() => _shared?.Dispose();

    /// <summary>The lease of the shared allowance being taken, if any: tests wait for it.</summary>
    internal Task Leasing => _shared?.Leasing ?? Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 1306, Level = LogLevel.Warning, Message = "Audits capped: {Skipped} sampled answers not audited since the last report, past Router:Audits:MaxPerMinute ({Limit})")]
        public static partial void AuditsCapped(ILogger logger, long skipped, int limit);
    }
}
