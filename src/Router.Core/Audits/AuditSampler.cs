using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Microsoft.Extensions.Options;
using Router.Core.Analysis;
using Router.Core.Catalog;
using Router.Core.Metering;
using Router.Core.Routing;

namespace Router.Core.Audits;

/// <summary>Decides which answers are audited and why. Deterministic: a request id and the seed always give the same
/// choice, so tests and replays are repeatable.</summary>
public sealed class AuditSampler(IOptions<AuditOptions> options)
{
    private const int ProbeSalt = 0x5EED9A0B;

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

    /// <summary>A uniform number in [0, 1) from the request id and seed.</summary>
    public static double Roll(string requestId, int seed)
    {
        Span<byte> hash = stackalloc byte[8];
        XxHash64.Hash(Encoding.UTF8.GetBytes(requestId), hash, seed);
        return (BinaryPrimitives.ReadUInt64LittleEndian(hash) >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>The band name used in audit rows and weights for a complexity.</summary>
    public static string Band(double complexity) => ComplexityBands.Of(complexity).ToWire();
}
