using System.Globalization;
using Microsoft.Extensions.Options;
using Router.Core.Analysis;
using Router.Core.Audits;
using Router.Core.Catalog;
using Router.Core.Routing;

namespace Router.Core.Weights;

/// <summary>Turns audits into a weights snapshot. Per (task, band, model), a Beta posterior over "at least as good as
/// premium" over conclusive audits (<see cref="AuditResult.Conclusive"/>), each audit's weight halving every <see cref="WeightsOptions.HalfLife"/>. A band's floor rises past a
/// tier when that tier is confidently below target (upper bound under it, enough audits) and falls back once its
/// mean is at target again, or once no audit of that tier is left in the window, so nothing flips on a handful of
/// audits, a recovered model is rehabilitated and a raise never outlives its evidence. A tenant's audits count at most as
/// much as the other tenants' in a cell (and at least <see cref="WeightsOptions.MinAudits"/>), so one tenant's volume
/// cannot outvote the rest.</summary>
public sealed class WeightsCalculator(IOptions<WeightsOptions> options)
{
    /// <summary>The next snapshot (version <paramref name="previous"/>.Version + 1).</summary>
    public RoutingWeights Compute(RoutingWeights previous, IEnumerable<AuditResult> audits, DateTimeOffset now)
    {
        var settings = options.Value;
        var counted = new List<(string Key, string Model, ModelTier Tier, string Tenant, bool Good, double Weight)>();
        var tenantWeight = new Dictionary<(string Key, ModelTier Tier, string Tenant), double>();
        foreach (var audit in audits)
        {
            // An unjudged audit says nothing, and one whose verdict flips with the answers' order measured the judge's
            // taste for a slot: counted, a judge that always picks A would make every audit a success.
            if (!audit.Conclusive || audit.Reason == AuditReasons.SemanticHit || !ModelTierNames.TryParse(audit.Tier, out var tier) || tier == ModelTier.Premium)
            {
                continue;
            }

            var age = now - audit.AuditedAt;
            if (age > settings.Window)
            {
                continue;
            }

            var weight = Math.Pow(0.5, Math.Max(0, age.TotalSeconds) / settings.HalfLife.TotalSeconds);
            var key = audit.Task + "/" + audit.Band;
            counted.Add((key, audit.Model, tier, audit.TenantId, audit.Verdict != AuditVerdict.Worse, weight));
            tenantWeight[(key, tier, audit.TenantId)] = tenantWeight.GetValueOrDefault((key, tier, audit.TenantId)) + weight;
        }

        // Weights are shared by every tenant, so no tenant's volume may outvote the others: in a (task, band, tier) a
        // tenant's audits count at most as much as all other tenants' together, but never less than MinAudits' worth, and
        // fully when no other tenant has audits there, so a deployment with one tenant (or one large one) still learns.
        var cellWeight = new Dictionary<(string Key, ModelTier Tier), double>();
        foreach (var ((key, tier, _), weight) in tenantWeight)
        {
            cellWeight[(key, tier)] = cellWeight.GetValueOrDefault((key, tier)) + weight;
        }

        var stats = new Dictionary<(string Key, string Model, ModelTier Tier), Posterior>();
        foreach (var audit in counted)
        {
            var own = tenantWeight[(audit.Key, audit.Tier, audit.Tenant)];
            var others = cellWeight[(audit.Key, audit.Tier)] - own;
            var cap = Math.Max(others, settings.MinAudits);
            var weight = others > 0 && own > cap ? audit.Weight * cap / own : audit.Weight;
            var key = (audit.Key, audit.Model, audit.Tier);
            stats[key] = stats.GetValueOrDefault(key).Add(audit.Good, weight);
        }

        var evidence = stats
            .Select(s => s.Value.Estimate(s.Key.Key, s.Key.Model, s.Key.Tier, settings.Confidence))
            .OrderBy(e => e.Key, StringComparer.Ordinal).ThenBy(e => e.Tier).ThenBy(e => e.Model, StringComparer.Ordinal)
            .ToArray();

        // A model is demoted where the evidence is, in one (task, band): weak at extraction/high says nothing about chat.
        var demoted = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var group in evidence.GroupBy(e => (e.Key, e.Tier)))
        {
            var sound = group.Where(e => e.EffectiveAudits >= settings.MinAudits && e.Mean >= settings.Target).ToArray();
            foreach (var weak in group.Where(e => e.EffectiveAudits >= settings.MinAudits && e.Upper < settings.Target))
            {
                if (sound.Length > 0)
                {
                    demoted[RoutingWeights.DemotionKey(weak.Key, weak.Model)] = string.Create(CultureInfo.InvariantCulture,
                        $"{weak.Key}: quality {weak.Mean:0.00} vs {sound[0].Model} {sound[0].Mean:0.00}");
                }
            }
        }

        var adjustments = new Dictionary<string, TierAdjustment>(StringComparer.Ordinal);
        foreach (var key in evidence.Select(e => e.Key).Concat(previous.Adjustments.Keys).Distinct(StringComparer.Ordinal))
        {
            // Every tier below premium is judged, not only up to the first sound one: a band the table gives to standard
            // has no economy audits, and stopping at economy (nothing against it) would never raise the band past a
            // failing standard, nor keep it raised once it was.
            var floor = ModelTier.Economy;
            string? why = null;
            foreach (var tier in new[] { ModelTier.Economy, ModelTier.Standard })
            {
                // A tier is judged as routing will use it: a demoted model serves only after its sound peers, so its
                // failures are no reason to raise the band (the demotion alone fixes that).
                var pooled = stats
                    .Where(s => s.Key.Key == key && s.Key.Tier == tier && !demoted.ContainsKey(RoutingWeights.DemotionKey(key, s.Key.Model)))
                    .Aggregate(default(Posterior), (a, s) => a.Merge(s.Value));
                var estimate = pooled.Estimate(key, "*", tier, settings.Confidence);
                var wasRaisedPast = previous.Adjustments.TryGetValue(key, out var before) && before.Floor > tier;
                var enough = estimate.EffectiveAudits >= settings.MinAudits;

                // A raised band comes down on enough fresh evidence at target (probes keep testing the tier it was
                // raised from), or when no audit of that tier is left in the window: a raise lasts as long as its
                // evidence, and a tier that fails again is raised again on new audits.
                var bad = wasRaisedPast
                    ? estimate.Audits > 0 && !(enough && estimate.Mean >= settings.Target)
                    : enough && estimate.Upper < settings.Target;
                if (bad)
                {
                    floor = tier + 1;
                    why = string.Create(CultureInfo.InvariantCulture,
                        $"{tier.ToWire()} quality {estimate.Mean:0.00} (upper {estimate.Upper:0.00}, {estimate.EffectiveAudits:0.#} audits) below target {settings.Target:0.00}");
                }
            }

            if (floor > ModelTier.Economy)
            {
                adjustments[key] = new TierAdjustment(floor, why!);
            }
        }

        return new RoutingWeights(previous.Version + 1, now, adjustments, demoted) { Evidence = evidence };
    }

    private readonly record struct Posterior(double Good, double Bad, int Count)
    {
        public Posterior Add(bool good, double weight) =>
            good ? this with { Good = Good + weight, Count = Count + 1 } : this with { Bad = Bad + weight, Count = Count + 1 };

        public Posterior Merge(Posterior other) => new(Good + other.Good, Bad + other.Bad, Count + other.Count);

        // Beta(1 + good, 1 + bad): uniform prior, normal approximation for the credible bounds.
        public QualityEstimate Estimate(string key, string model, ModelTier tier, double z)
        {
            double a = 1 + Good, b = 1 + Bad, n = a + b;
            var mean = a / n;
            var sd = Math.Sqrt(a * b / (n * n * (n + 1)));
            return new QualityEstimate(key, model, tier, Count, Good + Bad, Math.Round(mean, 4), Math.Round(Math.Max(0, mean - z * sd), 4), Math.Round(Math.Min(1, mean + z * sd), 4));
        }
    }
}
