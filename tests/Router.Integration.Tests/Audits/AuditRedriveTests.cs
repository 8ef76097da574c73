using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Router.Core.Audits;
using Router.Infrastructure.Audits;
using Router.Integration.Tests.Metering;
using Router.Integration.Tests.Storage;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Audits;

/// <summary><c>GET /admin/audits/poison</c> and <c>POST /admin/audits/redrive</c> on the server, against Azurite's
/// queues and blobs and on the embedded in-process queue.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AuditRedriveTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const string Prompt = "reverse a string in C# without LINQ";
    private const string Job = """{"request_id":"REQ","tenant":"acme","timestamp":"2026-11-27T10:00:00Z","task":"coding","band":"low","model":"sim-small","tier":"economy","reason":"sampled","messages":[{"role":"user","content":"reverse a string in C# without LINQ"}],"answer":"s.Reverse()"}""";
    private SimulatedProvider _simulator = null!;
    private Dictionary<string, string?> _settings = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatedProvider.StartAsync();
        _simulator.Model("sim-large").Responder = SimulatedJudge.Respond;
        _settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        _settings["Router:Audits:QueueName"] = "redrive-" + Guid.NewGuid().ToString("N")[..12];
        _settings["Router:Audits:PayloadContainer"] = "payloads-" + Guid.NewGuid().ToString("N")[..12];
        _settings["Router:Audits:RetryBaseDelay"] = "00:00:00.050";
    }

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    private QueueClient Queue(string suffix = "") =>
        new(azurite.Azurite.ConnectionString, _settings["Router:Audits:QueueName"] + suffix, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });

    private async Task<List<string>> AuditRowsAsync()
    {
        var table = new TableClient(azurite.Azurite.ConnectionString, _settings["Router:Storage:TablePrefix"] + "audits");
        await table.CreateIfNotExistsAsync();
        return await table.QueryAsync<TableEntity>().Select(r => r.RowKey).OrderBy(k => k, StringComparer.Ordinal).ToListAsync();
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        while (!await condition())
        {
            await Task.Delay(100, cancel.Token);
        }
    }

    private static async Task<JsonNode> OkJsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    private static AuditJob LargeJob(string requestId)
    {
        var text = new string('x', 40_000);
        return new AuditJob
        {
            RequestId = requestId, TenantId = "acme", Timestamp = DateTimeOffset.UtcNow, Task = "chat", Band = "low",
            Model = "sim-small", Tier = "economy", Reason = AuditReasons.Sampled, Messages = [new AuditMessage("user", text)], Answer = text,
        };
    }

    [Fact]
    public async Task After_a_judge_outage_a_redrive_puts_poisoned_jobs_back_and_the_worker_audits_them_large_ones_included()
    {
        // The reference and judge model is down: every job fails its one delivery and is poisoned.
        _settings["Router:Audits:MaxDequeueCount"] = "1";
        _simulator.Model("sim-large").FailureRate = 1.0;
        await using var router = await RouterServerHost.StartAsync(_settings);
        await router.Services.GetRequiredService<IAuditQueue>().EnqueueAsync(LargeJob("req_outage_big"), CancellationToken.None);
        await Queue().SendMessageAsync(Job.Replace("REQ", "req_outage_small", StringComparison.Ordinal));
        var poison = Queue("-poison");
        await WaitUntilAsync(async () => await poison.ExistsAsync() && (await poison.GetPropertiesAsync()).Value.ApproximateMessagesCount == 2, TimeSpan.FromSeconds(60));
        var payloads = new BlobContainerClient(azurite.Azurite.ConnectionString, _settings["Router:Audits:PayloadContainer"]);
        Assert.Single(await payloads.GetBlobsAsync().ToListAsync());   // kept while poisoned, so the redrive can run it

        // The model is back; the operator redrives.
        _simulator.Model("sim-large").FailureRate = 0;
        using var response = await MeteringHost.AdminAsync(router, HttpMethod.Post, "admin/audits/redrive");
        var result = await OkJsonAsync(response);

        Assert.Equal(2, result["redriven"]!.GetValue<int>());
        Assert.Equal(0, result["discarded"]!.GetValue<int>());
        Assert.Equal(0, result["remaining"]!.GetValue<long>());
        await WaitUntilAsync(async () => (await AuditRowsAsync()).Count == 2, TimeSpan.FromSeconds(60));
        Assert.Equal(["req_outage_big", "req_outage_small"], await AuditRowsAsync());
        Assert.Empty((await poison.PeekMessagesAsync(1)).Value);
        await WaitUntilAsync(async () => (await payloads.GetBlobsAsync().ToListAsync()).Count == 0, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task The_poison_listing_shows_ids_and_ages_without_text_and_a_redrive_moves_at_most_max_jobs()
    {
        var poison = Queue("-poison");
        await poison.CreateIfNotExistsAsync();
        var sent = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            sent.Add(Job.Replace("REQ", $"req_max_{i}", StringComparison.Ordinal));
            await poison.SendMessageAsync(sent[^1]);
        }

        // The server's audit worker is left out, so a redriven job stays on the audit queue where its text is compared.
        await using var router = await RouterServerHost.StartAsync(
            _settings, b => b.Services.Remove(b.Services.Single(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(AuditQueueWorker))));
        var audits = Queue();

        using var listing = await MeteringHost.AdminAsync(router, HttpMethod.Get, "admin/audits/poison");
        var listingText = await listing.Content.ReadAsStringAsync();
        var before = await OkJsonAsync(listing);
        using var two = await MeteringHost.AdminAsync(router, HttpMethod.Post, "admin/audits/redrive", """{"max": 2}""");
        var first = await OkJsonAsync(two);
        using var zero = await MeteringHost.AdminAsync(router, HttpMethod.Post, "admin/audits/redrive", """{"max": 0}""");
        using var tooMany = await MeteringHost.AdminAsync(router, HttpMethod.Post, "admin/audits/redrive", """{"max": 100000}""");
        using var unknown = await MeteringHost.AdminAsync(router, HttpMethod.Post, "admin/audits/redrive", """{"limit": 3}""");
        var onQueue = (await audits.PeekMessagesAsync(32)).Value.Select(m => m.Body.ToString()).ToList();

        Assert.Equal(_settings["Router:Audits:QueueName"] + "-poison", before["queue"]!.GetValue<string>());
        Assert.True(before["durable"]!.GetValue<bool>());
        Assert.Equal(5, before["approximate_count"]!.GetValue<long>());
        var oldest = before["oldest"]!.AsArray();
        Assert.Equal(5, oldest.Count);
        Assert.Equal("req_max_0", oldest[0]!["request_id"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(oldest[0]!["id"]!.GetValue<string>()));
        Assert.InRange(oldest[0]!["age_seconds"]!.GetValue<long>(), 0, 600);
        Assert.DoesNotContain(Prompt, listingText, StringComparison.Ordinal);
        Assert.DoesNotContain("s.Reverse()", listingText, StringComparison.Ordinal);

        Assert.Equal(2, first["redriven"]!.GetValue<int>());
        Assert.Equal(3, first["remaining"]!.GetValue<long>());
        Assert.Equal(2, onQueue.Count);
        Assert.All(onQueue, body => Assert.Contains(body, sent));
        Assert.Equal(3, (await poison.GetPropertiesAsync()).Value.ApproximateMessagesCount);

        foreach (var bad in new[] { zero, tooMany, unknown })
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            var error = await TestJson.ErrorAsync(bad);
            Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        }

        Assert.Equal("max", (await TestJson.ErrorAsync(zero))["param"]!.GetValue<string>());

        using var rest = await MeteringHost.AdminAsync(router, HttpMethod.Post, "admin/audits/redrive", "{}");
        var second = await OkJsonAsync(rest);
        Assert.Equal(3, second["redriven"]!.GetValue<int>());
        Assert.Equal(0, second["remaining"]!.GetValue<long>());
        Assert.Equal(sent.Order(StringComparer.Ordinal), (await audits.PeekMessagesAsync(32)).Value.Select(m => m.Body.ToString()).Order(StringComparer.Ordinal));
        Assert.Empty((await poison.PeekMessagesAsync(1)).Value);
    }

    [Fact]
    public async Task The_poison_endpoints_refuse_callers_without_the_admin_key_in_openai_error_shape()
    {
        await Queue("-poison").CreateIfNotExistsAsync();
        await Queue("-poison").SendMessageAsync(Job.Replace("REQ", "req_kept", StringComparison.Ordinal));
        await using var router = await RouterServerHost.StartAsync(_settings);
        await MeteringHost.CreateTenantAsync(router, "acme");
        var (_, tenantKey) = await MeteringHost.CreateKeyAsync(router, "acme");

        foreach (var (method, path) in new[] { (HttpMethod.Get, "admin/audits/poison"), (HttpMethod.Post, "admin/audits/redrive"), (HttpMethod.Post, "manage/audits/redrive") })
        {
            foreach (var key in new[] { null, tenantKey })
            {
                using var request = new HttpRequestMessage(method, path);
                if (key is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                }

                using var response = await router.Http.SendAsync(request);

                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
                Assert.Equal("invalid_api_key", (await TestJson.ErrorAsync(response))["code"]!.GetValue<string>());
            }
        }

        Assert.Equal(1, (await Queue("-poison").GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task The_embedded_queue_keeps_poisoned_jobs_in_process_and_a_redrive_runs_them_again()
    {
        var settings = RouterServerHost.SimulatedCatalog(_simulator);
        settings["Router:AdminKey"] = MeteringHost.AdminKey;
        settings["Router:Audits:MaxDequeueCount"] = "1";
        _simulator.Model("sim-large").FailureRate = 1.0;
        await using var router = await RouterServerHost.StartAsync(settings);
        var store = router.Services.GetRequiredService<IAuditStore>();
        await router.Services.GetRequiredService<IAuditQueue>().EnqueueAsync(LargeJob("req_embedded"), CancellationToken.None);

        JsonNode listing = null!;
        await WaitUntilAsync(async () =>
        {
            using var response = await MeteringHost.AdminAsync(router, HttpMethod.Get, "admin/audits/poison");
            listing = await OkJsonAsync(response);
            return listing["approximate_count"]!.GetValue<long>() == 1;
        }, TimeSpan.FromSeconds(30));
        Assert.Equal("in-process", listing["queue"]!.GetValue<string>());
        Assert.False(listing["durable"]!.GetValue<bool>());
        Assert.Equal("req_embedded", listing["oldest"]![0]!["request_id"]!.GetValue<string>());

        _simulator.Model("sim-large").FailureRate = 0;
        using var redrive = await MeteringHost.AdminAsync(router, HttpMethod.Post, "admin/audits/redrive", """{"max": 10}""");
        var result = await OkJsonAsync(redrive);

        Assert.Equal((1, 0L), (result["redriven"]!.GetValue<int>(), result["remaining"]!.GetValue<long>()));
        await WaitUntilAsync(async () => await store.FindAsync("req_embedded", DateTimeOffset.UtcNow, CancellationToken.None) is not null, TimeSpan.FromSeconds(30));
    }
}
