using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Router.Core.Audits;
using Router.Integration.Tests.Metering;
using Router.Integration.Tests.Storage;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Audits;

/// <summary>The self-hosted server's audit worker on a real Azurite queue: leases, undecodable messages, failures.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AuditQueueWorkerTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string Job = """{"request_id":"REQ","tenant":"acme","timestamp":"2026-11-27T10:00:00Z","task":"coding","band":"low","model":"sim-small","tier":"economy","reason":"sampled","messages":[{"role":"user","content":"reverse a string in C#"}],"answer":"s.Reverse()"}""";
    private SimulatedProvider _simulator = null!;
    private Dictionary<string, string?> _settings = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatedProvider.StartAsync();
        _simulator.Model("sim-large").Responder = SimulatedJudge.Respond;
        _settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        _settings["Router:Audits:QueueName"] = "worker-" + Guid.NewGuid().ToString("N")[..12];
        _settings["Router:Audits:RetryBaseDelay"] = "00:00:00.050";
    }

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    private QueueClient Queue(string suffix = "", bool base64 = true) =>
        new(azurite.Azurite.ConnectionString, _settings["Router:Audits:QueueName"] + suffix,
            base64 ? new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 } : null);

    private async Task<List<string>> AuditRowsAsync()
    {
        var table = new TableClient(azurite.Azurite.ConnectionString, _settings["Router:Storage:TablePrefix"] + "audits");
        await table.CreateIfNotExistsAsync();
        return await table.QueryAsync<TableEntity>().Select(r => r.RowKey).ToListAsync();
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        while (!await condition())
        {
            await Task.Delay(100, cancel.Token);
        }
    }

    [Fact]
    public void A_failed_job_backs_off_four_times_longer_per_delivery_so_a_model_outage_of_minutes_does_not_poison_it()
    {
        var waits = Enumerable.Range(1, 4).Select(attempt => Router.Infrastructure.Audits.AuditQueueWorker.Backoff(new Router.Core.Audits.AuditOptions().RetryBaseDelay, attempt)).ToArray();

        Assert.Equal([TimeSpan.FromSeconds(15), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(16)], waits);
        Assert.True(waits.Aggregate(TimeSpan.Zero, (a, b) => a + b) > TimeSpan.FromMinutes(20));
        Assert.Equal(TimeSpan.FromHours(1), Router.Infrastructure.Audits.AuditQueueWorker.Backoff(TimeSpan.FromMinutes(10), 9));
    }

    [Fact]
    public async Task A_job_refused_with_retry_after_waits_that_long_instead_of_spending_its_deliveries()
    {
        // The reference model is rate limited for two minutes; the backoff alone would retry after 50 ms.
        _simulator.Model("sim-large").Script.Enqueue(new SimulatedFault.Status(429, RetryAfter: "120"));
        var queue = Queue();
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync(Job.Replace("REQ", "req_throttled", StringComparison.Ordinal));

        await using var router = await RouterServerHost.StartAsync(_settings);
        await WaitUntilAsync(() => Task.FromResult(_simulator.ReceivedFor("sim-large") > 0), TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(3));

        Assert.Equal(1, _simulator.ReceivedFor("sim-large"));
        Assert.Empty(await AuditRowsAsync());
        Assert.Empty((await queue.PeekMessagesAsync(1)).Value);   // still queued, invisible until the hint has passed
        Assert.Equal(1, (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task An_audit_slower_than_the_visibility_timeout_keeps_its_lease_and_runs_once()
    {
        // Reference plus two judge passes at 4 s each: twice the 6 s lease, which is renewed every 3 s (a renewal has 3 s
        // to reach storage before the lease runs out, room for a loaded machine).
        _settings["Router:Audits:VisibilityTimeout"] = "00:00:06";
        _simulator.Model("sim-large").Latency = TimeSpan.FromSeconds(4);
        var queue = Queue();
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync(Job.Replace("REQ", "req_slow", StringComparison.Ordinal));

        await using var router = await RouterServerHost.StartAsync(_settings);
        var stopping = router.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        await WaitUntilAsync(async () => (await AuditRowsAsync()).Count > 0, TimeSpan.FromSeconds(60));
        await WaitUntilAsync(async () => (await queue.PeekMessagesAsync(1)).Value.Length == 0, TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(7));   // past a lease: a message that had been lost would be seen again

        Assert.Equal(["req_slow"], await AuditRowsAsync());
        Assert.Equal(3, _simulator.ReceivedFor("sim-large"));
        Assert.Empty((await queue.PeekMessagesAsync(1)).Value);
        Assert.False(await Queue("-poison").ExistsAsync() && (await Queue("-poison").PeekMessagesAsync(1)).Value.Length > 0);
        Assert.False(stopping.IsCancellationRequested);
        Assert.DoesNotContain(router.LogLines, l => l.Contains("lease was lost", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_message_that_is_not_base64_goes_to_the_poison_queue_as_sent_and_the_jobs_behind_it_run()
    {
        var plain = Queue(base64: false);
        await plain.CreateIfNotExistsAsync();
        var raw = Job.Replace("REQ", "req_plain", StringComparison.Ordinal);
        await plain.SendMessageAsync(raw);
        await Queue().SendMessageAsync(Job.Replace("REQ", "req_good", StringComparison.Ordinal));

        await using var router = await RouterServerHost.StartAsync(_settings);
        var poison = Queue("-poison");
        await WaitUntilAsync(async () => (await AuditRowsAsync()).Count > 0 && await poison.ExistsAsync() && (await poison.PeekMessagesAsync(1)).Value.Length > 0, TimeSpan.FromSeconds(30));

        Assert.Equal(["req_good"], await AuditRowsAsync());
        Assert.Equal(raw, (await poison.PeekMessagesAsync(1)).Value.Single().Body.ToString());
        await WaitUntilAsync(async () => (await plain.PeekMessagesAsync(1)).Value.Length == 0, TimeSpan.FromSeconds(10));
        Assert.False(router.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested);
    }
}
