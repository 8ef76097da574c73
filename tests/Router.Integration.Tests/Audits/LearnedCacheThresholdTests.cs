using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Router.Core.Metering;
using Router.Integration.Tests.Metering;
using Router.Integration.Tests.Storage;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Audits;

/// <summary>The semantic-cache threshold learned from audits, stored in Azure Tables beside the tenant's own settings.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class LearnedCacheThresholdTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_learned_threshold_neither_freezes_a_configured_tenant_nor_is_erased_by_an_admin_update()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var settings = MeteringHost.Settings(simulator, azurite.Azurite.ConnectionString);
        settings["Router:Tenants:acme:MonthlyBudgetUsd"] = "100";
        await using (var first = await RouterServerHost.StartAsync(settings))
        {
            var store = first.Services.GetRequiredService<ITenantPolicyStore>();
            await store.SetLearnedCacheThresholdAsync("acme", 0.90f, DateTimeOffset.UtcNow, CancellationToken.None);
            var learned = await store.GetAsync("acme", CancellationToken.None);
            Assert.Equal(0.90f, learned.EffectiveCacheSimilarityThreshold!.Value, 3);
            Assert.Equal(100m, learned.MonthlyBudgetUsd);
        }

        // The operator lowers the budget in configuration: it takes effect, and the learned threshold stays.
        settings["Router:Tenants:acme:MonthlyBudgetUsd"] = "5";
        await using var second = await RouterServerHost.StartAsync(settings);
        var tenants = second.Services.GetRequiredService<ITenantPolicyStore>();
        var policy = await tenants.GetAsync("acme", CancellationToken.None);
        Assert.Equal(5m, policy.MonthlyBudgetUsd);
        Assert.Equal(0.90f, policy.LearnedCacheSimilarityThreshold!.Value, 3);

        // An admin changes the tenant's settings: the learned threshold is not part of them and survives.
        var update = await tenants.UpdateAsync("acme", current => current with { CacheSimilarityThreshold = 0.87f, Quality = 0.7 }, CancellationToken.None);
        Assert.Equal(TenantUpdateStatus.Updated, update.Status);
        policy = await tenants.GetAsync("acme", CancellationToken.None);
        Assert.Equal(0.7, policy.Quality);
        Assert.Equal(0.87f, policy.CacheSimilarityThreshold!.Value, 3);
        Assert.Equal(0.90f, policy.EffectiveCacheSimilarityThreshold!.Value, 3);
    }

    [Fact]
    public async Task A_threshold_learned_into_the_tenant_row_by_an_earlier_version_is_read_as_learned_and_can_relax()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var settings = MeteringHost.Settings(simulator, azurite.Azurite.ConnectionString);
        var table = new TableClient(azurite.Azurite.ConnectionString, settings["Router:Storage:TablePrefix"] + "tenants");
        await table.CreateIfNotExistsAsync();
        await table.UpsertEntityAsync(new TableEntity("tenant", "acme")
        {
            ["Quality"] = 0.5,
            ["Rules"] = "[]",
            ["PerCallFeeUsd"] = "0",
            ["MarkupPercent"] = "0",
            ["AuditOptOut"] = false,
            ["CacheSimilarityThreshold"] = 0.99,
            ["CacheThresholdRaisedAt"] = DateTimeOffset.UtcNow.AddDays(-1),
        });

        await using var router = await RouterServerHost.StartAsync(settings);
        var tenants = router.Services.GetRequiredService<ITenantPolicyStore>();
        var policy = await tenants.GetAsync("acme", CancellationToken.None);
        Assert.Null(policy.CacheSimilarityThreshold);
        Assert.Equal(0.99f, policy.LearnedCacheSimilarityThreshold!.Value, 3);

        await tenants.SetLearnedCacheThresholdAsync("acme", 0.97f, DateTimeOffset.UtcNow, CancellationToken.None);
        Assert.Equal(0.97f, (await tenants.GetAsync("acme", CancellationToken.None)).EffectiveCacheSimilarityThreshold!.Value, 3);
    }

    [Fact]
    public async Task An_admin_update_keeps_a_threshold_learned_into_the_tenant_row_by_an_earlier_version()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var settings = MeteringHost.Settings(simulator, azurite.Azurite.ConnectionString);
        var table = new TableClient(azurite.Azurite.ConnectionString, settings["Router:Storage:TablePrefix"] + "tenants");
        await table.CreateIfNotExistsAsync();
        var raisedAt = DateTimeOffset.UtcNow.AddDays(-1);
        await table.UpsertEntityAsync(new TableEntity("tenant", "legacy")
        {
            ["Quality"] = 0.5,
            ["Rules"] = "[]",
            ["PerCallFeeUsd"] = "0",
            ["MarkupPercent"] = "0",
            ["AuditOptOut"] = false,
            ["CacheSimilarityThreshold"] = 0.99,
            ["CacheThresholdRaisedAt"] = raisedAt,
        });

        await using var router = await RouterServerHost.StartAsync(settings);
        var tenants = router.Services.GetRequiredService<ITenantPolicyStore>();

        // The operator changes the knob and nothing about the cache (as a PUT /admin/tenants/legacy {"quality":0.7} does).
        var update = await tenants.UpdateAsync("legacy", current => current with { Quality = 0.7 }, CancellationToken.None);
        Assert.Equal(TenantUpdateStatus.Updated, update.Status);

        var policy = await tenants.GetAsync("legacy", CancellationToken.None);
        Assert.Equal(0.7, policy.Quality);
        Assert.Null(policy.CacheSimilarityThreshold);
        Assert.Equal(0.99f, policy.LearnedCacheSimilarityThreshold!.Value, 3);
        Assert.Equal(0.99f, policy.EffectiveCacheSimilarityThreshold!.Value, 3);
        // When it was learned still holds: only audits after it count towards the next change.
        Assert.Equal(raisedAt.ToUnixTimeSeconds(), policy.CacheThresholdRaisedAt!.Value.ToUnixTimeSeconds());
    }
}
