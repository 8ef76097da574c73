using System.Globalization;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Router.Core.Analysis;
using Router.Core.Audits;
using Router.Core.Catalog;
using Router.Core.Routing;
using Router.Core.Weights;
using Router.Infrastructure.Storage;
using Router.Infrastructure.Weights;
using Router.Integration.Tests.Storage;

namespace Router.Integration.Tests.Weights;

[Collection(AzuriteCollection.Name)]
public sealed class TableWeightsStoreTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-01T00:00:00Z", CultureInfo.InvariantCulture);

    private (TableWeightsStore Store, TableClient Table) Create()
    {
        var prefix = "w" + Guid.NewGuid().ToString("N")[..10];
        var options = Options.Create(new StorageOptions { ConnectionString = azurite.Azurite.ConnectionString, TablePrefix = prefix });
        return (new TableWeightsStore(new RouterTables(new TableServiceClient(azurite.Azurite.ConnectionString), options)),
            new TableClient(azurite.Azurite.ConnectionString, prefix + "weights"));
    }

    // Evidence for every task and band of the default catalog's non-premium models and 33 more: over five times the
    // default catalog, each estimate with its own figures.
    private static RoutingWeights LargeSnapshot()
    {
        var models = DefaultCatalog.Models.Where(m => m.Value.Tier != ModelTier.Premium)
            .Select(m => (Id: m.Key, m.Value.Tier))
            .Concat(Enumerable.Range(0, 33).Select(i => (Id: $"tenant-finetune-{i:00}", Tier: i % 2 == 0 ? ModelTier.Economy : ModelTier.Standard)))
            .ToArray();
        var audits = new List<AuditResult>();
        var seed = 0;
        foreach (var task in Enum.GetValues<TaskType>())
        {
            foreach (var band in Enum.GetValues<ComplexityBand>())
            {
                foreach (var (id, tier) in models)
                {
                    var count = 3 + (seed++ % 17);
                    for (var i = 0; i < count; i++)
                    {
                        audits.Add(new AuditResult
                        {
                            RequestId = $"req_{seed}_{i}", TenantId = "t", RequestTime = Now.AddHours(-i * 7), AuditedAt = Now.AddHours(-i * 7),
                            Task = task.ToWireName(), Band = band.ToWire(), Model = id, Tier = tier.ToWire(), Reason = AuditReasons.Sampled,
                            Verdict = (i * 7 + seed) % 5 == 0 ? AuditVerdict.Worse : AuditVerdict.Equivalent, Score = 0.7,
                        });
                    }
                }
            }
        }

        return new WeightsCalculator(Options.Create(new WeightsOptions())).Compute(RoutingWeights.Empty, audits, Now);
    }

    [Fact]
    public async Task A_snapshot_with_evidence_for_every_task_band_and_model_of_a_large_catalog_is_written_and_read_back()
    {
        var (store, table) = Create();
        var weights = LargeSnapshot();
        var json = JsonSerializer.Serialize(WeightsDocument.From(weights), WeightsJsonContext.Default.WeightsDocument);
        Assert.True(json.Length > 200_000, $"{json.Length} characters");   // six times what one table property holds

        Assert.True(await store.TryWriteAsync(weights, null, CancellationToken.None));
        var (stored, etag) = await store.GetAsync(CancellationToken.None);
        Assert.Equal(json, JsonSerializer.Serialize(WeightsDocument.From(stored), WeightsJsonContext.Default.WeightsDocument));

        // The next recompute replaces it under its ETag, and each version keeps its history row.
        var next = new RoutingWeights(2, Now.AddMinutes(5), weights.Adjustments, weights.DemotedModels) { Evidence = weights.Evidence };
        Assert.True(await store.TryWriteAsync(next, etag, CancellationToken.None));
        Assert.Equal(2, (await store.GetAsync(CancellationToken.None)).Weights.Version);
        Assert.Equal(2, await table.QueryAsync<TableEntity>(e => e.PartitionKey == "history").CountAsync());
    }

    [Fact]
    public async Task A_snapshot_larger_than_one_binary_property_after_compression_is_split_and_reassembled()
    {
        var (store, table) = Create();
        var random = new Random(7);
        var evidence = Enumerable.Range(0, 6_000).Select(i => new QualityEstimate(
            "coding/low", Guid.NewGuid().ToString("N"), ModelTier.Economy, random.Next(1, 500), Math.Round(random.NextDouble() * 100, 2),
            Math.Round(random.NextDouble(), 4), Math.Round(random.NextDouble(), 4), Math.Round(random.NextDouble(), 4))).ToArray();
        var weights = new RoutingWeights(1, Now, new Dictionary<string, TierAdjustment>(), new Dictionary<string, string>()) { Evidence = evidence };

        Assert.True(await store.TryWriteAsync(weights, null, CancellationToken.None));

        var row = (await table.GetEntityAsync<TableEntity>("snapshot", "current")).Value;
        Assert.True(row.GetInt32("Parts") > 1);
        var (stored, _) = await store.GetAsync(CancellationToken.None);
        Assert.Equal(evidence, stored.Evidence);
    }

    [Fact]
    public async Task A_snapshot_stored_as_plain_json_before_compression_is_read_and_replaced()
    {
        var (store, table) = Create();
        var old = new RoutingWeights(7, Now, new Dictionary<string, TierAdjustment> { ["coding/low"] = new(ModelTier.Standard, "economy quality 0.41") }, new Dictionary<string, string>());
        await table.CreateIfNotExistsAsync();
        await table.AddEntityAsync(new TableEntity("snapshot", "current")
        {
            ["Version"] = 7L,
            ["Json"] = JsonSerializer.Serialize(WeightsDocument.From(old), WeightsJsonContext.Default.WeightsDocument),
        });

        var (stored, etag) = await store.GetAsync(CancellationToken.None);
        Assert.Equal(7, stored.Version);
        Assert.Equal(ModelTier.Standard, stored.Adjustments["coding/low"].Floor);

        Assert.True(await store.TryWriteAsync(new RoutingWeights(8, Now, stored.Adjustments, stored.DemotedModels), etag, CancellationToken.None));
        var (replaced, _) = await store.GetAsync(CancellationToken.None);
        Assert.Equal(8, replaced.Version);
        Assert.Equal(ModelTier.Standard, replaced.Adjustments["coding/low"].Floor);
    }
}
