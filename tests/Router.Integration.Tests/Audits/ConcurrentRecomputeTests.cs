using System.Runtime.CompilerServices;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Router.Core.Audits;
using Router.Core.Weights;
using Router.Infrastructure.Storage;
using Router.Infrastructure.Weights;
using Router.Integration.Tests.Storage;

namespace Router.Integration.Tests.Audits;

[Collection(AzuriteCollection.Name)]
public sealed class ConcurrentRecomputeTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Two_overlapping_recomputes_write_one_snapshot_version()
    {
        var options = Options.Create(new StorageOptions { ConnectionString = azurite.Azurite.ConnectionString, TablePrefix = "c" + Guid.NewGuid().ToString("N")[..10] });
        var tables = new RouterTables(new TableServiceClient(azurite.Azurite.ConnectionString), options);
        var store = new TableWeightsStore(tables);
        var audits = new BarrierAuditStore(2);
        var weightsOptions = Options.Create(new WeightsOptions());

        var catalog = new Router.Core.Catalog.ModelCatalog(new Router.Core.Catalog.RouterOptions());
        var tenants = new Router.Infrastructure.Metering.InMemoryTenantPolicyStore(Options.Create(new Router.Core.Metering.TenantsOptions()), catalog);
        WeightsRecomputer Recomputer() => new(store, audits, new WeightsCalculator(weightsOptions), catalog, new RoutingWeightsHolder(), tenants,
            Options.Create(new Router.Core.Caching.SemanticCacheOptions()), weightsOptions, TimeProvider.System, NullLogger<WeightsRecomputer>.Instance);

        // Both runs read version 0 before either writes: the barrier holds each until the other has read too.
        var results = await Task.WhenAll(Recomputer().RecomputeAsync(CancellationToken.None), Recomputer().RecomputeAsync(CancellationToken.None));

        Assert.Equal(1, results.Count(r => r.Written));
        Assert.All(results, r => Assert.Equal(1, r.Current.Version));
        var (stored, _) = await store.GetAsync(CancellationToken.None);
        Assert.Equal(1, stored.Version);

        var (written, next) = await Recomputer().RecomputeAsync(CancellationToken.None);
        Assert.True(written);
        Assert.Equal(2, next.Version);
    }

    private sealed class BarrierAuditStore(int parties) : IAuditStore
    {
        private readonly Barrier _barrier = new(parties);
        private int _calls;

        public ValueTask<AuditResult?> FindAsync(string requestId, DateTimeOffset requestTime, CancellationToken cancellationToken) => ValueTask.FromResult<AuditResult?>(null);

        public ValueTask<bool> TryAddAsync(AuditResult result, CancellationToken cancellationToken) => ValueTask.FromResult(true);

        public async IAsyncEnumerable<AuditResult> QueryAsync(DateTimeOffset since, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) <= 2)
            {
                await Task.Run(() => _barrier.SignalAndWait(TimeSpan.FromSeconds(60)), cancellationToken);
            }

            yield break;
        }
    }
}
