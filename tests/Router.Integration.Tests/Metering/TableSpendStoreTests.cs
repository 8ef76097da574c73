using System.Text;
using System.Text.RegularExpressions;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Router.Core.Metering;
using Router.Infrastructure.Storage;
using Router.Integration.Tests.Storage;
using Router.Testing.Proxy;

namespace Router.Integration.Tests.Metering;

[Collection(AzuriteCollection.Name)]
public sealed partial class TableSpendStoreTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_spend_write_that_commits_but_times_out_is_not_counted_twice_when_retried()
    {
        await using var proxy = await StartProxyAsync();
        var (store, _) = Store(proxy, retries: 5, networkTimeout: TimeSpan.FromSeconds(1));

        // Lost answers are silence here: the SDK retries each write at its network timeout (and any slow answer too, up to
        // five times, so only six slow answers in a row would fail the test).
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

    [Fact]
    public async Task A_settlement_whose_answer_was_lost_is_not_counted_again_however_many_settlements_came_in_between()
    {
        await using var proxy = await StartProxyAsync();
        var (store, table) = Store(proxy, retries: 0);
        proxy.LostAnswer = LostAnswer.ServerTimeout;
        const string scope = "tenant|acme|m202612";

        // The settlement commits, but the SDK's attempts run out without an answer that says so: the caller keeps it to
        // write again.
        proxy.CommitThenTimeoutRate = 1;
        await Assert.ThrowsAnyAsync<Exception>(async () => await store.AddAsync(scope, 0.01m, "lost", CancellationToken.None));
        proxy.CommitThenTimeoutRate = 0;
        Assert.Equal(1, proxy.Swallowed);
        Assert.Equal(0.01m, (await store.GetAsync(scope, CancellationToken.None)).SpentUsd);

        // More settlements of the same cap than the row names (the store's only memory of changes before).
        for (var i = 0; i < TableSpendStore.RecentOperations + 8; i++)
        {
            await store.AddAsync(scope, 0.01m, $"other-{i}", CancellationToken.None);
        }

        await store.AddAsync(scope, 0.01m, "lost", CancellationToken.None);
        Assert.Equal(0.41m, (await store.GetAsync(scope, CancellationToken.None)).SpentUsd);

        // Written once more right after its retry was answered, it adds nothing either: its marker is still there.
        await store.AddAsync(scope, 0.01m, "lost", CancellationToken.None);
        Assert.Equal(0.41m, (await store.GetAsync(scope, CancellationToken.None)).SpentUsd);
    }

    [Fact]
    public async Task Markers_of_settlements_seen_to_commit_are_deleted_so_a_busy_scope_does_not_grow()
    {
        await using var proxy = await StartProxyAsync();
        var (store, table) = Store(proxy, retries: null);
        const string scope = "key|k1|d20261207";
        for (var i = 0; i < 50; i++)
        {
            await store.AddAsync(scope, 0.02m, $"s-{i}", CancellationToken.None);
        }

        Assert.Equal(1.00m, (await store.GetAsync(scope, CancellationToken.None)).SpentUsd);
        var rows = await RowKeysAsync(table, scope);
        Assert.Contains("total", rows);

        // Each write deletes the markers of the writes before it: only the last one's is left.
        Assert.Equal(["op-s-49", "total"], rows.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_marker_already_gone_does_not_stop_the_next_settlement()
    {
        await using var proxy = await StartProxyAsync();
        var (store, table) = Store(proxy, retries: null);
        const string scope = "tenant|beta|d20261207";
        await store.AddAsync(scope, 0.05m, "first", CancellationToken.None);

        // Deleted by a write whose answer was lost, say: the next write's delete of it finds nothing.
        await table.DeleteEntityAsync(Partition(scope), "op-first", ETag.All);
        await store.AddAsync(scope, 0.05m, "second", CancellationToken.None);
        await store.AddAsync(scope, 0.05m, "third", CancellationToken.None);

        Assert.Equal(0.15m, (await store.GetAsync(scope, CancellationToken.None)).SpentUsd);
        Assert.Equal(["op-third", "total"], (await RowKeysAsync(table, scope)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task After_an_outage_the_next_settlement_does_not_fail_once_per_marker_already_deleted()
    {
        await using var proxy = await StartProxyAsync();
        var counter = new BatchCounter();
        var (store, _) = Store(proxy, retries: 0, counter);
        proxy.LostAnswer = LostAnswer.ServerTimeout;
        const string scope = "tenant|busy|d20261207";

        // Forty settlements commit unanswered, then their retries find them: their markers are queued for deletion.
        proxy.CommitThenTimeoutRate = 1;
        for (var i = 0; i < 40; i++)
        {
            await Assert.ThrowsAnyAsync<Exception>(async () => await store.AddAsync(scope, 0.01m, $"x-{i}", CancellationToken.None));
        }

        proxy.CommitThenTimeoutRate = 0;
        for (var i = 0; i < 40; i++)
        {
            await store.AddAsync(scope, 0.01m, $"x-{i}", CancellationToken.None);
        }

        // The next one commits with those deletes but its answer is lost: the deletes are done, unknown to the store.
        proxy.CommitThenTimeoutRate = 1;
        await Assert.ThrowsAnyAsync<Exception>(async () => await store.AddAsync(scope, 0.01m, "y", CancellationToken.None));
        proxy.CommitThenTimeoutRate = 0;
        Assert.Equal(0.41m, (await store.GetAsync(scope, CancellationToken.None)).SpentUsd);

        var before = counter.Batches;
        await store.AddAsync(scope, 0.01m, "z", CancellationToken.None);
        Assert.Equal(0.42m, (await store.GetAsync(scope, CancellationToken.None)).SpentUsd);
        Assert.True(counter.Batches - before <= 3, $"{counter.Batches - before} transactions for one settlement");
    }

    [Fact]
    public async Task A_404_that_names_no_action_does_not_fail_every_later_settlement_of_the_scope()
    {
        await using var proxy = await StartProxyAsync();
        var (store, table) = Store(proxy, retries: null, stripIndex: true);
        const string scope = "tenant|gamma|d20261207";
        await store.AddAsync(scope, 0.05m, "first", CancellationToken.None);
        await table.DeleteEntityAsync(Partition(scope), "op-first", ETag.All);

        for (var i = 0; i < 5; i++)
        {
            await store.AddAsync(scope, 0.05m, $"s-{i}", CancellationToken.None);
        }

        Assert.Equal(0.30m, (await store.GetAsync(scope, CancellationToken.None)).SpentUsd);
    }

    [Fact]
    public async Task A_write_without_a_name_such_as_a_slice_given_back_deletes_the_markers_left()
    {
        await using var proxy = await StartProxyAsync();
        var (store, table) = Store(proxy, retries: null);
        const string scope = "key|k9|d20261207";
        await store.AddAsync(scope, 0.01m, "a", CancellationToken.None);
        await store.AddAsync(scope, 0.01m, "b", CancellationToken.None);
        Assert.Equal(["op-b", "total"], (await RowKeysAsync(table, scope)).Order(StringComparer.Ordinal));

        var row = await store.UpdateAsync(scope, "", r => r with { Leases = [] }, CancellationToken.None);
        Assert.Equal(0.02m, row.SpentUsd);
        Assert.Equal(["total"], await RowKeysAsync(table, scope));
    }

    private async Task<StorageFaultProxy> StartProxyAsync()
    {
        var tableEndpoint = azurite.Azurite.ConnectionString.Split(';').Single(p => p.StartsWith("TableEndpoint=", StringComparison.Ordinal))["TableEndpoint=".Length..];
        var proxy = await StorageFaultProxy.StartAsync(new Uri(tableEndpoint));

        // Inserts (POST), ETag-guarded replacements (PUT) and entity group transactions (POST $batch) of the spend table.
        proxy.Matches = request => (HttpMethods.IsPost(request.Method) || HttpMethods.IsPut(request.Method))
            && (request.Path.Value!.Contains("spend", StringComparison.Ordinal) || request.Path.Value.EndsWith("$batch", StringComparison.Ordinal));
        return proxy;
    }

    // The store through the proxy, and the spend table directly. Retries null: the SDK's default number.
    // networkTimeout: 30 s by default, so no answer is given up on for being slow on a loaded machine: with no retries a
    // slow read would fail the test, and a slow write retried leaves a marker behind by design (see TableSpendStore).
    // Tests with no retries lose answers as a 500 OperationTimedOut, at once; the one that loses them in silence gives a
    // short timeout and lets the SDK retry.
    private (TableSpendStore Store, TableClient Table) Store(
        StorageFaultProxy proxy, int? retries, BatchCounter? counter = null, bool stripIndex = false, TimeSpan? networkTimeout = null)
    {
        var connection = proxy.Rewrite(azurite.Azurite.ConnectionString, "TableEndpoint");
        var prefix = "s" + Guid.NewGuid().ToString("N")[..10];
        var clientOptions = new TableClientOptions();
        clientOptions.Retry.NetworkTimeout = networkTimeout ?? TimeSpan.FromSeconds(30);
        clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(10);
        if (retries is { } count)
        {
            clientOptions.Retry.MaxRetries = count;
        }

        if (counter is not null)
        {
            clientOptions.AddPolicy(counter, HttpPipelinePosition.PerRetry);
        }

        if (stripIndex)
        {
            clientOptions.AddPolicy(new StripIndexPolicy(), HttpPipelinePosition.PerRetry);
        }

        var store = new TableSpendStore(new RouterTables(new TableServiceClient(connection, clientOptions),
            Options.Create(new StorageOptions { ConnectionString = connection, TablePrefix = prefix })));
        return (store, new TableServiceClient(azurite.Azurite.ConnectionString).GetTableClient(prefix + "spend"));
    }

    private static string Partition(string scope) => TableSpendStore.Key(scope);

    private static async Task<List<string>> RowKeysAsync(TableClient table, string scope)
    {
        var keys = new List<string>();
        await foreach (var entity in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {Partition(scope)}"), select: ["RowKey"]))
        {
            keys.Add(entity.RowKey);
        }

        return keys;
    }

    // Counts entity group transactions sent, retries included.
    private sealed class BatchCounter : HttpPipelineSynchronousPolicy
    {
        private int _batches;

        public int Batches => Volatile.Read(ref _batches);

        public override void OnSendingRequest(HttpMessage message)
        {
            if (message.Request.Uri.Path.EndsWith("$batch", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _batches);
            }
        }
    }

    // Removes the "N:" prefix from error messages in $batch answers, as a service that does not name the failed action.
    private sealed partial class StripIndexPolicy : HttpPipelinePolicy
    {
        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) => throw new NotSupportedException();

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            if (message.Request.Uri.Path.EndsWith("$batch", StringComparison.Ordinal) && message.Response.ContentStream is { } stream)
            {
                using var reader = new StreamReader(stream);
                var text = await reader.ReadToEndAsync();
                message.Response.ContentStream = new MemoryStream(Encoding.UTF8.GetBytes(Index().Replace(text, "\"value\":\"")));
            }
        }

        [GeneratedRegex("\"value\":\"\\d+:")]
        private static partial Regex Index();
    }
}
