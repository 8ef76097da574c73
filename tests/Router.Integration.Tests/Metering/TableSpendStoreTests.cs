using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Router.Core.Metering;
using Router.Infrastructure.Storage;
using Router.Integration.Tests.Storage;
using Router.Testing.Proxy;

namespace Router.Integration.Tests.Metering;

[Collection(AzuriteCollection.Name)]
public sealed class TableSpendStoreTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_spend_write_that_commits_but_times_out_is_not_counted_twice_when_retried()
    {
        var tableEndpoint = azurite.Azurite.ConnectionString.Split(';').Single(p => p.StartsWith("TableEndpoint=", StringComparison.Ordinal))["TableEndpoint=".Length..];
        await using var proxy = await StorageFaultProxy.StartAsync(new Uri(tableEndpoint));
        // Inserts (POST) and ETag-guarded replacements (PUT) of the spend table's rows.
        proxy.Matches = request => (HttpMethods.IsPost(request.Method) || HttpMethods.IsPut(request.Method)) && request.Path.Value!.Contains("spend", StringComparison.Ordinal);
        var connection = proxy.Rewrite(azurite.Azurite.ConnectionString, "TableEndpoint");
        var prefix = "s" + Guid.NewGuid().ToString("N")[..10];
        var clientOptions = new TableClientOptions();
        clientOptions.Retry.NetworkTimeout = TimeSpan.FromMilliseconds(500);
        clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(10);
        var store = new TableSpendStore(new RouterTables(new TableServiceClient(connection, clientOptions),
            Options.Create(new StorageOptions { ConnectionString = connection, TablePrefix = prefix })));

        proxy.CommitThenTimeoutRate = 0.4;
        for (var i = 0; i < 30; i++)
        {
            await store.AddAsync("tenant|acme|d20261207", 0.01m, $"settle-{i}", CancellationToken.None);
        }

        proxy.CommitThenTimeoutRate = 0;
        Assert.True(proxy.Swallowed >= 5, $"only {proxy.Swallowed} writes were swallowed: too few to test anything");
        Assert.Equal(0.30m, (await store.GetAsync("tenant|acme|d20261207", CancellationToken.None)).SpentUsd);

        // The same settlement again (a caller's own retry) adds nothing; a new one does.
        await store.AddAsync("tenant|acme|d20261207", 0.01m, "settle-29", CancellationToken.None);
        await store.AddAsync("tenant|acme|d20261207", 0.01m, "settle-30", CancellationToken.None);
        Assert.Equal(0.31m, (await store.GetAsync("tenant|acme|d20261207", CancellationToken.None)).SpentUsd);
    }
}
