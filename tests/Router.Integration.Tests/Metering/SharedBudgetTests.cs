using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Router.Core.Chat;
using Router.Core.Metering;
using Router.Infrastructure.Storage;
using Router.Integration.Tests.Storage;

namespace Router.Integration.Tests.Metering;

/// <summary>Router instances that share one storage account share a tenant's budget: what they admit together stays
/// within the cap, where each used to spend up to what it last saw left of it.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class SharedBudgetTests(AzuriteFixture azurite)
{
    private static readonly Caller Caller = new("acme", "key-1");

    [Fact]
    public async Task Three_instances_on_one_storage_account_never_admit_more_than_the_cap_together()
    {
        var policy = TenantPolicy.Default("acme") with { DailyBudgetUsd = 1.00m };
        var instances = Instances(3);

        // Each instance serves four clients at once, each sending requests until it is refused.
        var (admitted, refusals) = await RunAsync(instances, policy, _ => (0.10m, 0.10m));

        var settled = (await instances[0].Store.GetAsync(Scope(), CancellationToken.None)).SpentUsd;
        Assert.True(admitted <= 1.00m, $"the instances admitted ${admitted} together against a cap of $1.00");
        Assert.Equal(admitted, settled);
        // Nobody was refused before the money was spent: the whole budget went to requests, and every refusal says so.
        Assert.Equal(1.00m, admitted);
        Assert.All(refusals, r => Assert.Null(r.RetryAfter));

        // Instances that shut down give back what they hold.
        foreach (var instance in instances)
        {
            await instance.Budgets.DisposeAsync();
        }

        Assert.Empty((await instances[0].Store.GetAsync(Scope(), CancellationToken.None)).Leases);
    }

    [Fact]
    public async Task Requests_that_cost_less_than_their_worst_case_spend_the_cap_across_instances_and_pass_it_by_at_most_one_request()
    {
        var policy = TenantPolicy.Default("acme") with { DailyBudgetUsd = 2.00m };
        var instances = Instances(3);
        try
        {
            // Each request sets $0.30 aside and costs between $0.05 and $0.30.
            var (_, refusals) = await RunAsync(instances, policy, random => (0.30m, 0.05m + (random.Next(0, 26) / 100m)));

            var settled = (await instances[0].Store.GetAsync(Scope(), CancellationToken.None)).SpentUsd;
            Assert.True(settled < 2.00m + 0.30m, $"the instances spent ${settled} together against a cap of $2.00");
            Assert.True(settled >= 2.00m, $"requests were refused with ${2.00m - settled} of the budget left");
            Assert.All(refusals, r => Assert.Equal("budget_exceeded", r.Code));
            Assert.All(refusals, r => Assert.Null(r.RetryAfter));
        }
        finally
        {
            // Their timers would otherwise keep renewing and giving back slices in storage after the test.
            foreach (var instance in instances)
            {
                await instance.Budgets.DisposeAsync();
            }
        }
    }

    private static async Task<(decimal Admitted, List<RouterError> Refusals)> RunAsync(
        (BudgetGuard Budgets, TableSpendStore Store)[] instances, TenantPolicy policy, Func<Random, (decimal Reserve, decimal Cost)> request)
    {
        decimal admitted = 0;
        var gate = new Lock();
        var refusals = new List<RouterError>();
        var clients = instances.SelectMany((instance, i) => Enumerable.Range(0, 4).Select(j => Task.Run(async () =>
        {
            var random = new Random((i * 10) + j);
            while (true)
            {
                var (reserve, cost) = request(random);
                var (reservation, error) = await instance.Budgets.ReserveAsync(policy, Caller, reserve, CancellationToken.None);
                if (reservation is null)
                {
                    lock (gate)
                    {
                        refusals.Add(error!);
                    }

                    return;
                }

                lock (gate)
                {
                    admitted += reserve;
                }

                await Task.Delay(20);
                await instance.Budgets.SettleAsync(reservation, cost, CancellationToken.None);
            }
        })));
        await Task.WhenAll(clients);
        return (admitted, refusals);
    }

    private static string Scope() => $"tenant|acme|d{DateTime.UtcNow:yyyyMMdd}";

    // Each instance has its own clients, as separate processes would; all use one table.
    private (BudgetGuard Budgets, TableSpendStore Store)[] Instances(int count)
    {
        var prefix = "b" + Guid.NewGuid().ToString("N")[..10];
        var connection = azurite.Azurite.ConnectionString;
        return Enumerable.Range(0, count).Select(_ =>
        {
            var store = new TableSpendStore(new RouterTables(new TableServiceClient(connection),
                Options.Create(new StorageOptions { ConnectionString = connection, TablePrefix = prefix })));
            return (new BudgetGuard(store, TimeProvider.System), store);
        }).ToArray();
    }
}
