using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Audits;
using Router.Integration.Tests.Metering;
using Router.Integration.Tests.Storage;
using Router.Testing.Simulator;
using Xunit.Abstractions;

namespace Router.Integration.Tests.Audits;

/// <summary>Audits and weights end to end on Azurite and the simulator, on a compressed schedule.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class SelfImprovingRoutingTests(AzuriteFixture azurite, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Coding = "Write a Python function that parses ISO dates and returns the weekday.";
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private SimulatedProvider _simulator = null!;
    private Dictionary<string, string?> _settings = null!;
    private bool _economyBroken = true;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatedProvider.StartAsync();
        _simulator.Model("sim-small").Responder = chat => _economyBroken && chat.LastUserMessage.Contains("Python", StringComparison.Ordinal)
            ? "BAD ANSWER: I cannot write code."
            : SimulatedProvider.DefaultAnswer(chat.Model, chat.LastUserMessage);
        _simulator.Model("sim-large").Responder = SimulatedJudge.Respond;
        _settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        _settings["Router:Models:sim-medium:Enabled"] = "false";
        _settings["Router:Audits:QueueName"] = "audits-" + Guid.NewGuid().ToString("N")[..12];
        _settings["Router:Audits:SampleRate"] = "1";
        _settings["Router:Audits:ProbeSampleRate"] = "1";
        _settings["Router:Audits:MaxPerMinute"] = "100";   // leases of up to 20 audits: each phase's audits come from one lease
        _settings["Router:Audits:RetryBaseDelay"] = "00:00:00.050";
        _settings["Router:Weights:MinAudits"] = "6";
        _settings["Router:Weights:HalfLife"] = "01:00:00";
        _settings["Router:Tenants:acme:Quality"] = "0";
        _settings["Router:ApiKeys:0:Tenant"] = "acme";
        _settings["Router:ApiKeys:0:Key"] = "audits-tenant-key-0001";
    }

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    private Task<RouterServerHost> StartAsync() =>
        RouterServerHost.StartAsync(_settings, b => b.Services.AddSingleton<TimeProvider>(_time));

    private async Task<int> AuditRowsAsync(Func<TableEntity, bool>? where = null)
    {
        var table = new TableClient(azurite.Azurite.ConnectionString, _settings["Router:Storage:TablePrefix"] + "audits");
        await table.CreateIfNotExistsAsync();
        var count = 0;
        await foreach (var row in table.QueryAsync<TableEntity>())
        {
            count += where is null || where(row) ? 1 : 0;
        }

        return count;
    }

    private async Task WaitForAuditsAsync(int expected, Func<TableEntity, bool>? where = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await AuditRowsAsync(where) < expected)
        {
            await Task.Delay(100, timeout.Token);
        }
    }

    // On storage the instance spends audits leased from the allowance all instances share, and a minute's first lease is
    // as large as what it asked for in the minute before: it asks for a phase's worth of audits in the minute before the
    // phase, so that the lease taken as the phase's minute starts holds all of the phase's audits.
    private async Task LeaseForPhaseAsync(AuditSampler sampler, int audits)
    {
        for (var i = 0; i < audits; i++)
        {
            sampler.Admit(AuditReasons.Sampled);
            await sampler.Leasing;
        }

        _time.Advance(TimeSpan.FromMinutes(1));
        await sampler.Leasing;
    }

    private static async Task<HttpResponseMessage> AskAsync(RouterServerHost router, string path, string prompt)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = TestJson.Body(TestJson.Chat("auto", prompt)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "audits-tenant-key-0001");
        return await router.Http.SendAsync(request);
    }

    [Fact]
    public async Task A_model_bad_at_coding_is_escalated_by_audits_and_rehabilitated_when_fixed()
    {
        await using var router = await StartAsync();
        var sampler = router.Services.GetRequiredService<AuditSampler>();

        // Phase 1: the economy model fails at coding; audits say so; the recompute raises the band.
        await LeaseForPhaseAsync(sampler, 8);
        for (var i = 0; i < 8; i++)
        {
            using var response = await AskAsync(router, "v1/chat/completions", $"{Coding} Variant {i}.");
            Assert.Equal("economy", response.Headers.GetValues("x-router-tier").Single());
        }

        await WaitForAuditsAsync(8);
        using (var recompute = await MeteringHost.AdminAsync(router, HttpMethod.Post, "admin/weights/recompute"))
        {
            var weights = JsonNode.Parse(await recompute.Content.ReadAsStringAsync())!;
            output.WriteLine(weights.ToJsonString());
            // Economy is out for coding/low; with no standard model in this catalog, the band goes to premium.
            Assert.Equal("standard", weights["adjustments"]!["coding/low"]!["floor"]!.GetValue<string>());
        }

        using (var escalated = await AskAsync(router, "v1/chat/completions", $"{Coding} After the recompute."))
        {
            Assert.Equal("premium", escalated.Headers.GetValues("x-router-tier").Single());
        }

        using (var explained = await AskAsync(router, "v1/route", $"{Coding} Explain the decision."))
        {
            var decision = JsonNode.Parse(await explained.Content.ReadAsStringAsync())!["decision"]!;
            Assert.Contains(decision["reasons"]!.AsArray(), r => r!.GetValue<string>().StartsWith("weights: coding/low economy quality", StringComparison.Ordinal));
        }

        // Phase 2: the model is fixed. Premium answers in the raised band are probed against economy; a day later
        // the old failures have decayed and the band is rehabilitated.
        _economyBroken = false;
        _time.Advance(TimeSpan.FromDays(1));
        await LeaseForPhaseAsync(sampler, 8);
        var probesBefore = await AuditRowsAsync(r => r.GetString("Reason") == AuditReasons.Probe);
        for (var i = 0; i < 8; i++)
        {
            using var response = await AskAsync(router, "v1/chat/completions", $"{Coding} Fixed variant {i}.");
            Assert.Equal("premium", response.Headers.GetValues("x-router-tier").Single());
        }

        await WaitForAuditsAsync(probesBefore + 8, r => r.GetString("Reason") == AuditReasons.Probe);
        using (var recompute = await MeteringHost.AdminAsync(router, HttpMethod.Post, "admin/weights/recompute"))
        {
            var weights = JsonNode.Parse(await recompute.Content.ReadAsStringAsync())!;
            output.WriteLine(weights.ToJsonString());
            Assert.False(weights["adjustments"]!.AsObject().ContainsKey("coding/low"));
        }

        using var rehabilitated = await AskAsync(router, "v1/chat/completions", $"{Coding} After rehabilitation.");
        Assert.Equal("economy", rehabilitated.Headers.GetValues("x-router-tier").Single());
    }

    [Fact]
    public async Task Duplicate_audit_messages_produce_one_audit_row()
    {
        await using var router = await StartAsync();
        var queue = router.Services.GetRequiredService<IAuditQueue>();
        var job = new AuditJob
        {
            RequestId = "req_duplicate_" + Guid.NewGuid().ToString("N"),
            TenantId = "acme",
            Timestamp = _time.GetUtcNow(),
            Task = "coding",
            Band = "low",
            Model = "sim-small",
            Tier = "economy",
            Reason = AuditReasons.Sampled,
            Messages = [new AuditMessage("user", "duplicate audit prompt for the test")],
            Answer = "an answer",
        };

        await queue.EnqueueAsync(job, CancellationToken.None);
        await queue.EnqueueAsync(job, CancellationToken.None);
        await queue.EnqueueAsync(job, CancellationToken.None);
        await WaitForAuditsAsync(1, r => r.RowKey == job.RequestId);

        var queueClient = new QueueClient(azurite.Azurite.ConnectionString, _settings["Router:Audits:QueueName"]);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while ((await queueClient.GetPropertiesAsync(timeout.Token)).Value.ApproximateMessagesCount > 0)
        {
            await Task.Delay(100, timeout.Token);
        }

        Assert.Equal(1, await AuditRowsAsync(r => r.RowKey == job.RequestId));
    }

    [Fact]
    public async Task A_message_that_always_fails_lands_in_the_poison_queue_after_5_deliveries()
    {
        _settings["Router:Audits:ReferenceModel"] = "sim-large";
        _simulator.Model("sim-large").FailureRate = 1.0;
        await using var router = await StartAsync();
        var queue = router.Services.GetRequiredService<IAuditQueue>();
        var requestId = "req_poison_" + Guid.NewGuid().ToString("N");

        await queue.EnqueueAsync(new AuditJob
        {
            RequestId = requestId,
            TenantId = "acme",
            Timestamp = _time.GetUtcNow(),
            Task = "chat",
            Band = "low",
            Model = "sim-small",
            Tier = "economy",
            Reason = AuditReasons.Sampled,
            Messages = [new AuditMessage("user", "this audit can never finish")],
            Answer = "an answer",
        }, CancellationToken.None);

        var poison = new QueueClient(azurite.Azurite.ConnectionString, _settings["Router:Audits:QueueName"] + "-poison", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!await poison.ExistsAsync(timeout.Token) || (await poison.PeekMessagesAsync(1, timeout.Token)).Value.Length == 0)
        {
            await Task.Delay(200, timeout.Token);
        }

        var message = (await poison.PeekMessagesAsync(1)).Value.Single();
        Assert.Contains(requestId, message.Body.ToString(), StringComparison.Ordinal);
        Assert.Equal(5, _simulator.ReceivedFor("sim-large"));
        Assert.Equal(0, await AuditRowsAsync(r => r.RowKey == requestId));
    }
}
