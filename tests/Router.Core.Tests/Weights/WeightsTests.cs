using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Analysis;
using Router.Core.Audits;
using Router.Core.Caching;
using Router.Core.Catalog;
using Router.Core.Metering;
using Router.Core.Routing;
using Router.Core.Weights;
using Router.Infrastructure.Audits;
using Router.Infrastructure.Weights;

namespace Router.Core.Tests.Weights;

public sealed class WeightsTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly WeightsOptions _options = new() { MinAudits = 10 };
    private readonly ModelCatalog _catalog = new(Catalog.ModelCatalogTests.Options());

    private AuditResult Audit(string task, string band, string tier, AuditVerdict verdict, string reason = AuditReasons.Sampled, string tenant = "t", TimeSpan? age = null, string? model = null) => new()
    {
        RequestId = Guid.NewGuid().ToString("N"),
        TenantId = tenant,
        RequestTime = _time.GetUtcNow() - (age ?? TimeSpan.Zero),
        AuditedAt = _time.GetUtcNow() - (age ?? TimeSpan.Zero),
        Task = task,
        Band = band,
        Model = model ?? tier + "-model",
        Tier = tier,
        Reason = reason,
        Verdict = verdict,
        Score = verdict == AuditVerdict.Worse ? 0.2 : 0.8,
    };

    private RoutingWeights Compute(RoutingWeights previous, IEnumerable<AuditResult> audits) =>
        new WeightsCalculator(Options.Create(_options)).Compute(previous, audits, _time.GetUtcNow());

    [Fact]
    public void A_band_is_raised_only_when_the_economy_tier_is_confidently_below_target_on_enough_audits()
    {
        var few = Enumerable.Range(0, 5).Select(_ => Audit("coding", "low", "economy", AuditVerdict.Worse));
        var many = Enumerable.Range(0, 20).Select(i => Audit("coding", "low", "economy", i < 3 ? AuditVerdict.Equivalent : AuditVerdict.Worse));
        var good = Enumerable.Range(0, 30).Select(i => Audit("chat", "low", "economy", i < 28 ? AuditVerdict.Equivalent : AuditVerdict.Worse));

        Assert.Empty(Compute(RoutingWeights.Empty, few).Adjustments);
        var raised = Compute(RoutingWeights.Empty, many.Concat(good));
        Assert.Equal(ModelTier.Standard, raised.Adjustments["coding/low"].Floor);
        Assert.False(raised.Adjustments.ContainsKey("chat/low"));
        Assert.Equal(1, raised.Version);
    }

    [Fact]
    public void A_raised_band_stays_raised_until_enough_recent_audits_are_at_target_and_old_ones_decay()
    {
        var bad = Enumerable.Range(0, 20).Select(_ => Audit("coding", "low", "economy", AuditVerdict.Worse)).ToList();
        var raised = Compute(RoutingWeights.Empty, bad);

        var fewGood = Enumerable.Range(0, 5).Select(_ => Audit("coding", "low", "economy", AuditVerdict.Equivalent, AuditReasons.Probe));
        Assert.Equal(ModelTier.Standard, Compute(raised, bad.Concat(fewGood)).Adjustments["coding/low"].Floor);

        _time.Advance(TimeSpan.FromDays(28));
        var fresh = Enumerable.Range(0, 15).Select(_ => Audit("coding", "low", "economy", AuditVerdict.Equivalent, AuditReasons.Probe));
        Assert.False(Compute(raised, bad.Concat(fresh)).Adjustments.ContainsKey("coding/low"));
    }

    [Fact]
    public void Unjudged_audits_and_audits_whose_passes_disagree_are_no_evidence_of_quality()
    {
        var bad = Enumerable.Range(0, 20).Select(_ => Audit("coding", "low", "economy", AuditVerdict.Worse));
        var unjudged = Enumerable.Range(0, 40).Select(_ => Audit("coding", "low", "economy", AuditVerdict.Unjudged));
        var slotBiased = Enumerable.Range(0, 40).Select(_ => Audit("coding", "low", "economy", AuditVerdict.Equivalent) with { PositionDisagreement = true });

        var weights = Compute(RoutingWeights.Empty, bad.Concat(unjudged).Concat(slotBiased));

        Assert.Equal(ModelTier.Standard, weights.Adjustments["coding/low"].Floor);
        var evidence = Assert.Single(weights.Evidence);
        Assert.Equal(20, evidence.Audits);
    }

    [Fact]
    public void A_band_raised_to_standard_comes_down_when_probes_find_economy_fixed()
    {
        var bad = Enumerable.Range(0, 20).Select(_ => Audit("coding", "low", "economy", AuditVerdict.Worse)).ToList();
        var raised = Compute(RoutingWeights.Empty, bad);
        Assert.Equal(ModelTier.Standard, raised.Adjustments["coding/low"].Floor);

        // Standard serves the band now: its sampled audits say nothing about economy, the probes do.
        _time.Advance(TimeSpan.FromDays(21));
        var standard = Enumerable.Range(0, 40).Select(_ => Audit("coding", "low", "standard", AuditVerdict.Equivalent));
        var probes = Enumerable.Range(0, 20).Select(_ => Audit("coding", "low", "economy", AuditVerdict.Equivalent, AuditReasons.Probe));
        Assert.Equal(ModelTier.Standard, Compute(raised, bad.Concat(standard)).Adjustments["coding/low"].Floor);
        Assert.False(Compute(raised, bad.Concat(standard).Concat(probes)).Adjustments.ContainsKey("coding/low"));
    }

    [Fact]
    public void A_band_the_table_gives_standard_is_raised_to_premium_when_standard_fails_it_and_stays_raised()
    {
        // coding/medium is standard's in the table: economy has no audits there, standard's fail.
        var bad = Enumerable.Range(0, 30).Select(_ => Audit("coding", "medium", "standard", AuditVerdict.Worse)).ToList();

        var raised = Compute(RoutingWeights.Empty, bad);
        Assert.Equal(ModelTier.Premium, raised.Adjustments["coding/medium"].Floor);

        // The next run, on the same evidence, keeps it (no flip back because economy has nothing to say).
        var next = Compute(raised, bad);
        Assert.Equal(ModelTier.Premium, next.Adjustments["coding/medium"].Floor);

        // Economy fine where standard fails: the band is still raised past standard.
        var economyFine = Enumerable.Range(0, 30).Select(_ => Audit("coding", "medium", "economy", AuditVerdict.Equivalent));
        Assert.Equal(ModelTier.Premium, Compute(RoutingWeights.Empty, bad.Concat(economyFine)).Adjustments["coding/medium"].Floor);
    }

    [Fact]
    public void A_raise_expires_once_no_audit_of_the_lower_tier_is_left_in_the_window()
    {
        var bad = Enumerable.Range(0, 20).Select(_ => Audit("coding", "low", "economy", AuditVerdict.Worse)).ToList();
        var raised = Compute(RoutingWeights.Empty, bad);

        // 29 days on, the old failures still count (if only a little): the band stays raised.
        _time.Advance(TimeSpan.FromDays(29));
        var standard = Enumerable.Range(0, 40).Select(_ => Audit("coding", "low", "standard", AuditVerdict.Equivalent)).ToList();
        var stillRaised = Compute(raised, bad.Concat(standard));
        Assert.Equal(ModelTier.Standard, stillRaised.Adjustments["coding/low"].Floor);

        // Past the window nothing says economy fails this band: the raise goes, and new failures would raise it again.
        _time.Advance(TimeSpan.FromDays(2));
        Assert.False(Compute(stillRaised, bad.Concat(standard)).Adjustments.ContainsKey("coding/low"));
    }

    [Fact]
    public void A_model_weak_in_one_task_and_band_is_demoted_there_only_and_its_sound_peer_keeps_the_band()
    {
        var audits = Enumerable.Range(0, 20).SelectMany(_ => new[]
        {
            Audit("extraction", "high", "economy", AuditVerdict.Worse, model: "azure/cheap-a"),
            Audit("extraction", "high", "economy", AuditVerdict.Equivalent, model: "cheap-b"),
            Audit("chat", "low", "economy", AuditVerdict.Equivalent, model: "azure/cheap-a"),
        });

        var weights = Compute(RoutingWeights.Empty, audits);

        Assert.Equal(["extraction/high/azure/cheap-a"], weights.DemotedModels.Keys);
        Assert.Equal(["azure/cheap-a"], weights.DemotedIn(TaskType.Extraction, ComplexityBand.High).Keys);
        Assert.Empty(weights.DemotedIn(TaskType.Chat, ComplexityBand.Low));
        Assert.Empty(weights.DemotedIn(TaskType.Extraction, ComplexityBand.Medium));

        // Routing serves cheap-b first there, so the demotion alone fixes the band: economy keeps it.
        Assert.Empty(weights.Adjustments);
    }

    [Fact]
    public void A_demotion_survives_the_stored_document_and_an_old_model_only_key_demotes_nothing()
    {
        var weights = Compute(RoutingWeights.Empty, Enumerable.Range(0, 20).SelectMany(_ => new[]
        {
            Audit("coding", "low", "economy", AuditVerdict.Worse, model: "cheap-a"),
            Audit("coding", "low", "economy", AuditVerdict.Equivalent, model: "cheap-b"),
        }));

        var stored = WeightsDocument.From(weights);
        stored.DemotedModels["cheap-a"] = "from a snapshot written before demotions had a task and band";
        var loaded = stored.ToWeights();

        Assert.Equal(["cheap-a"], loaded.DemotedIn(TaskType.Coding, ComplexityBand.Low).Keys);
        Assert.Empty(loaded.DemotedIn(TaskType.Chat, ComplexityBand.Low));
    }

    [Fact]
    public void One_tenants_volume_cannot_outvote_the_other_tenants_evidence()
    {
        // A tenant whose prompts economy handles 60% of the time sends 100 audits; two others, 15 each, all fine.
        var loud = Enumerable.Range(0, 100).Select(i => Audit("coding", "low", "economy", i < 60 ? AuditVerdict.Equivalent : AuditVerdict.Worse, tenant: "loud"));
        var others = Enumerable.Range(0, 30).Select(i => Audit("coding", "low", "economy", AuditVerdict.Equivalent, tenant: i % 2 == 0 ? "calm" : "quiet"));

        var weights = Compute(RoutingWeights.Empty, loud.Concat(others).ToList());

        // Counted at face value, 90 of 130 is confidently below 0.8; with loud counted as much as the others, it is not.
        Assert.False(weights.Adjustments.ContainsKey("coding/low"));
        var economy = Assert.Single(weights.Evidence, e => e.Key == "coding/low");
        Assert.Equal(130, economy.Audits);
        Assert.Equal(60, economy.EffectiveAudits, 3);
    }

    [Fact]
    public void A_tenant_alone_in_a_cell_still_moves_it()
    {
        var audits = Enumerable.Range(0, 25).Select(_ => Audit("coding", "low", "economy", AuditVerdict.Worse, tenant: "solo"))
            .Concat(Enumerable.Range(0, 25).Select(_ => Audit("chat", "low", "economy", AuditVerdict.Equivalent, tenant: "other")));

        var weights = Compute(RoutingWeights.Empty, audits);

        Assert.Equal(ModelTier.Standard, weights.Adjustments["coding/low"].Floor);
        Assert.Equal(25, Assert.Single(weights.Evidence, e => e.Key == "coding/low").EffectiveAudits, 3);
    }

    [Fact]
    public async Task Audits_of_a_model_gone_from_the_catalog_are_no_evidence_for_the_models_that_route_now()
    {
        // "small" is the catalog's only economy model; "gone" was its sound peer until it left the catalog.
        var audits = new InMemoryAuditStore();
        var recomputer = new WeightsRecomputer(new InMemoryWeightsStore(), audits, new WeightsCalculator(Options.Create(_options)), _catalog, new RoutingWeightsHolder(),
            new TenantStore(), Options.Create(new SemanticCacheOptions()), Options.Create(_options), _time, NullLogger<WeightsRecomputer>.Instance);
        for (var i = 0; i < 20; i++)
        {
            await audits.TryAddAsync(Audit("coding", "low", "economy", AuditVerdict.Worse, model: "small"), CancellationToken.None);
            await audits.TryAddAsync(Audit("coding", "low", "economy", AuditVerdict.Equivalent, model: "gone"), CancellationToken.None);
            await audits.TryAddAsync(Audit("chat", "low", "economy", AuditVerdict.Worse, model: "gone"), CancellationToken.None);
        }

        var (_, weights) = await recomputer.RecomputeAsync(CancellationToken.None);

        // Demoting "small" behind a peer that no longer exists left it serving the band alone, and unraised.
        Assert.Empty(weights.DemotedModels);
        Assert.Equal(ModelTier.Standard, weights.Adjustments["coding/low"].Floor);
        // A removed model's failures raise nothing either: the model that would serve chat/low has no record.
        Assert.False(weights.Adjustments.ContainsKey("chat/low"));
        Assert.DoesNotContain(weights.Evidence, e => e.Model == "gone");
    }

    [Fact]
    public async Task Audits_of_a_model_moved_to_another_tier_count_for_the_tier_it_serves_in_now()
    {
        // "mid" was an economy model when these audits were written (rows keep the tier of their day); the catalog has
        // since moved it to standard, leaving "small" the only economy model.
        var audits = new InMemoryAuditStore();
        var recomputer = new WeightsRecomputer(new InMemoryWeightsStore(), audits, new WeightsCalculator(Options.Create(_options)), _catalog, new RoutingWeightsHolder(),
            new TenantStore(), Options.Create(new SemanticCacheOptions()), Options.Create(_options), _time, NullLogger<WeightsRecomputer>.Instance);
        for (var i = 0; i < 20; i++)
        {
            await audits.TryAddAsync(Audit("coding", "low", "economy", AuditVerdict.Worse, model: "small"), CancellationToken.None);
            await audits.TryAddAsync(Audit("coding", "low", "economy", AuditVerdict.Equivalent, model: "mid"), CancellationToken.None);
        }

        var (_, weights) = await recomputer.RecomputeAsync(CancellationToken.None);

        // Counted for economy, "mid" kept "small" demoted behind a peer that no longer serves economy, so "small" served
        // the band alone and it was never raised; "mid"'s record is evidence about standard, where routing uses it now.
        Assert.Empty(weights.DemotedModels);
        Assert.Equal(ModelTier.Standard, weights.Adjustments["coding/low"].Floor);
        Assert.Equal(ModelTier.Standard, Assert.Single(weights.Evidence, e => e.Model == "mid").Tier);
    }

    [Fact]
    public async Task Too_many_false_semantic_hits_raise_the_tenants_threshold_once_per_batch_of_evidence()
    {
        var audits = new InMemoryAuditStore();
        var tenants = new TenantStore();
        var recomputer = new WeightsRecomputer(new InMemoryWeightsStore(), audits, new WeightsCalculator(Options.Create(_options)), _catalog, new RoutingWeightsHolder(),
            tenants, Options.Create(new SemanticCacheOptions()), Options.Create(_options), _time, NullLogger<WeightsRecomputer>.Instance);
        for (var i = 0; i < 12; i++)
        {
            await audits.TryAddAsync(Audit("chat", "low", "economy", i < 3 ? AuditVerdict.Worse : AuditVerdict.Equivalent, AuditReasons.SemanticHit, "acme"), CancellationToken.None);
            await audits.TryAddAsync(Audit("chat", "low", "economy", AuditVerdict.Equivalent, AuditReasons.SemanticHit, "calm"), CancellationToken.None);
        }

        await recomputer.RecomputeAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(5));
        await recomputer.RecomputeAsync(CancellationToken.None);

        var acme = await tenants.GetAsync("acme", CancellationToken.None);
        Assert.Equal(0.88f, acme.LearnedCacheSimilarityThreshold!.Value, 3);
        Assert.Equal(0.88f, acme.EffectiveCacheSimilarityThreshold!.Value, 3);
        Assert.Null(acme.CacheSimilarityThreshold);
        Assert.Null((await tenants.GetAsync("calm", CancellationToken.None)).EffectiveCacheSimilarityThreshold);
    }

    [Fact]
    public async Task Cached_answers_no_worse_than_the_same_models_fresh_answers_do_not_raise_the_threshold_and_a_clean_batch_relaxes_it()
    {
        var audits = new InMemoryAuditStore();
        var tenants = new TenantStore();
        var recomputer = new WeightsRecomputer(new InMemoryWeightsStore(), audits, new WeightsCalculator(Options.Create(_options)), _catalog, new RoutingWeightsHolder(),
            tenants, Options.Create(new SemanticCacheOptions()), Options.Create(_options), _time, NullLogger<WeightsRecomputer>.Instance);

        // The economy model loses to premium on 20% of fresh chat/low answers; 25% of acme's cached economy answers do.
        for (var i = 0; i < 20; i++)
        {
            await audits.TryAddAsync(Audit("chat", "low", "economy", i < 4 ? AuditVerdict.Worse : AuditVerdict.Equivalent, tenant: "other"), CancellationToken.None);
        }

        for (var i = 0; i < 12; i++)
        {
            await audits.TryAddAsync(Audit("chat", "low", "economy", i < 3 ? AuditVerdict.Worse : AuditVerdict.Equivalent, AuditReasons.SemanticHit, "acme"), CancellationToken.None);
        }

        await recomputer.RecomputeAsync(CancellationToken.None);
        Assert.Null((await tenants.GetAsync("acme", CancellationToken.None)).LearnedCacheSimilarityThreshold);

        // Half of the next hits are worse: well past what the model explains, so the threshold goes up one step.
        _time.Advance(TimeSpan.FromMinutes(5));
        for (var i = 0; i < 12; i++)
        {
            await audits.TryAddAsync(Audit("chat", "low", "economy", i < 6 ? AuditVerdict.Worse : AuditVerdict.Equivalent, AuditReasons.SemanticHit, "acme"), CancellationToken.None);
        }

        await recomputer.RecomputeAsync(CancellationToken.None);
        Assert.Equal(0.88f, (await tenants.GetAsync("acme", CancellationToken.None)).LearnedCacheSimilarityThreshold!.Value, 3);

        // Only audits after the raise count next: a clean batch steps it back to the router's own threshold.
        _time.Advance(TimeSpan.FromMinutes(5));
        for (var i = 0; i < 12; i++)
        {
            await audits.TryAddAsync(Audit("chat", "low", "economy", AuditVerdict.Equivalent, AuditReasons.SemanticHit, "acme"), CancellationToken.None);
        }

        await recomputer.RecomputeAsync(CancellationToken.None);
        Assert.Null((await tenants.GetAsync("acme", CancellationToken.None)).LearnedCacheSimilarityThreshold);
    }

    private sealed class TenantStore : ITenantPolicyStore
    {
        private readonly Dictionary<string, TenantPolicy> _policies = [];

        public ValueTask<TenantPolicy> GetAsync(string tenantId, CancellationToken cancellationToken) =>
            ValueTask.FromResult(_policies.GetValueOrDefault(tenantId) ?? TenantPolicy.Default(tenantId));

        public ValueTask<bool> CreateAsync(TenantPolicy policy, CancellationToken cancellationToken) =>
            ValueTask.FromResult(_policies.TryAdd(policy.TenantId, policy));

        public ValueTask<TenantUpdate> UpdateAsync(string tenantId, Func<TenantPolicy, TenantPolicy?> change, CancellationToken cancellationToken)
        {
            if (!_policies.TryGetValue(tenantId, out var current) || change(current) is not { } changed)
            {
                return ValueTask.FromResult(new TenantUpdate(TenantUpdateStatus.Declined, null));
            }

            _policies[tenantId] = changed;
            return ValueTask.FromResult(new TenantUpdate(TenantUpdateStatus.Updated, changed));
        }

        public async IAsyncEnumerable<TenantPolicy> ListAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.CompletedTask;
            foreach (var policy in _policies.Values)
            {
                yield return policy;
            }
        }

        public ValueTask SetLearnedCacheThresholdAsync(string tenantId, float? threshold, DateTimeOffset changedAt, CancellationToken cancellationToken)
        {
            _policies[tenantId] = (_policies.GetValueOrDefault(tenantId) ?? TenantPolicy.Default(tenantId)) with
            {
                LearnedCacheSimilarityThreshold = threshold,
                CacheThresholdRaisedAt = changedAt,
            };
            return ValueTask.CompletedTask;
        }
    }
}
