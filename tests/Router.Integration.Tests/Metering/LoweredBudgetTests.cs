using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Router.Core.Chat;
using Router.Core.Metering;
using Router.Infrastructure.Storage;
using Router.Integration.Tests.Storage;

namespace Router.Integration.Tests.Metering;

/// <summary>A tenant's budget lowered at run time (<c>PUT /admin/tenants/{id}</c>) while router instances hold slices of
/// the old cap in the shared spend row.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class LoweredBudgetTests(AzuriteFixture azurite)
{
    private static readonly Caller Caller = new("acme", "key-1");

    [Fact]
    public async Task Instances_holding_slices_of_the_old_cap_stop_admitting_once_a_lowered_cap_is_spent()
    {
        var before = TenantPolicy.Default("acme") with { DailyBudgetUsd = 100.00m };
        var after = before with { DailyBudgetUsd = 1.00m };
        var instances = Instances(2);
        try
        {
            // Both instances serve the tenant under the $100 cap: each claims a slice of it (a tenth of what is unclaimed).
            foreach (var (budgets, _) in instances)
            {
                var (reservation, _) = await budgets.ReserveAsync(before, Caller, 0.45m, CancellationToken.None);
                await budgets.SettleAsync(reservation!, 0.45m, CancellationToken.None);
            }

            // The operator lowers the cap to $1 ($0.90 spent). Traffic goes on, $0.50 a request, on both instances.
            var admitted = 0;
            for (var i = 0; i < 40; i++)
            {
                var (budgets, _) = instances[i % 2];
                var (reservation, error) = await budgets.ReserveAsync(after, Caller, 0.50m, CancellationToken.None);
                if (reservation is null)
                {
                    Assert.Equal("budget_exceeded", error!.Code);
                    break;
                }

                admitted++;
                await budgets.SettleAsync(reservation, 0.50m, CancellationToken.None);
            }

            // Like any cap, it may be passed by the one request admitted while a little was left ($0.10), no more.
            var settled = (await instances[0].Store.GetAsync(Scope(), CancellationToken.None)).SpentUsd;
            Assert.True(settled <= 1.00m + 0.50m, $"${settled} was spent against the lowered cap of $1.00 ({admitted} requests of $0.50 admitted after it was lowered)");
        }
        finally
        {
            foreach (var instance in instances)
            {
                await instance.Budgets.DisposeAsync();
            }
        }
    }

    private static string Scope() => $"tenant|acme|d{DateTime.UtcNow:yyyyMMdd}";

    // Each instance has its own clients, as separate processes would; all use one table.
    private (BudgetGuard Budgets, TableSpendStore Store)[] Instances(int count)
    {
        var prefix = "l" + Guid.NewGuid().ToString("N")[..10];
        var connection = azurite.Azurite.ConnectionString;
        return Enumerable.Range(0, count).Select(_ =>
        {
            var store = new TableSpendStore(new RouterTables(new TableServiceClient(connection),
                Options.Create(new StorageOptions { ConnectionString = connection, TablePrefix = prefix })));
            return (new BudgetGuard(store, TimeProvider.System), store);
        }).ToArray();
    }
}
