using System.Text;
using System.Text.Json.Nodes;
using Azure.Storage.Queues;
using Router.Core.Audits;
using Router.Functions;
using Router.Integration.Tests.Audits;
using Router.Integration.Tests.Storage;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Functions;

/// <summary>The Functions app's redrive of <c>quality-audits-poison</c>, where the host itself puts a job after
/// <c>maxDequeueCount</c> failed deliveries, with the message text as the host left it.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AuditRedriveFunctionTests(AzuriteFixture azurite)
{
    private const string AdminKey = "functions-redrive-admin-key";

    [Fact]
    public async Task A_redrive_copies_poisoned_messages_byte_for_byte_and_the_queue_trigger_runs_an_offloaded_one()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        simulator.Model("sim-large").Responder = SimulatedJudge.Respond;
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:AdminKey"] = AdminKey;
        settings["Router:Storage:ConnectionString"] = azurite.Azurite.ConnectionString;
        settings["Router:Storage:TablePrefix"] = "r" + Guid.NewGuid().ToString("N")[..10];
        settings["Router:Audits:QueueName"] = "fnredrive-" + Guid.NewGuid().ToString("N")[..12];
        settings["Router:Audits:PayloadContainer"] = "payloads-" + Guid.NewGuid().ToString("N")[..12];
        await using var host = new FunctionsHost(settings);

        // Messages as stored (no encoding by this client): what the host copies to the poison queue.
        var audits = new QueueClient(azurite.Azurite.ConnectionString, settings["Router:Audits:QueueName"]);
        var poison = new QueueClient(azurite.Azurite.ConnectionString, settings["Router:Audits:QueueName"] + "-poison");
        await poison.CreateIfNotExistsAsync();
        var text = new string('y', 40_000);
        await host.Get<IAuditQueue>().EnqueueAsync(new AuditJob
        {
            RequestId = "req_fn_big", TenantId = "acme", Timestamp = DateTimeOffset.UtcNow, Task = "chat", Band = "low",
            Model = "sim-small", Tier = "economy", Reason = AuditReasons.Sampled, Messages = [new AuditMessage("user", text)], Answer = text,
        }, CancellationToken.None);
        var offloaded = (await audits.ReceiveMessageAsync()).Value;
        Assert.Contains("payload_blob", Encoding.UTF8.GetString(Convert.FromBase64String(offloaded.MessageText)), StringComparison.Ordinal);
        await audits.DeleteMessageAsync(offloaded.MessageId, offloaded.PopReceipt);
        var small = Convert.ToBase64String(Encoding.UTF8.GetBytes(
            """{"request_id":"req_fn_small","tenant":"acme","timestamp":"2026-11-27T10:00:00Z","task":"coding","band":"low","model":"sim-small","tier":"economy","reason":"sampled","messages":[{"role":"user","content":"hi"}],"answer":"hello"}"""));
        var expired = Convert.ToBase64String(Encoding.UTF8.GetBytes(
            """{"request_id":"req_fn_expired","tenant":"acme","timestamp":"2026-11-20T10:00:00Z","task":"chat","band":"low","model":"sim-small","tier":"economy","reason":"sampled","messages":[],"answer":"","payload_blob":"req_fn_expired.json"}"""));
        // What the worker poisons when it cannot decode a message at all: not a job, so it can never run.
        var unreadable = "not an audit job";
        foreach (var message in new[] { offloaded.MessageText, small, expired, unreadable })
        {
            await poison.SendMessageAsync(message);
        }

        var listing = await ManageAsync(host, "GET", "audits/poison");
        var viaTrigger = host.Request("POST", "/admin/audits/redrive", """{"max": 2}""", AdminKey);
        var first = await FunctionsHost.CompleteAsync(viaTrigger, await host.Get<AdminFunctions>().RedriveAudits(viaTrigger.Request));
        var rest = await ManageAsync(host, "POST", "audits/redrive");
        var refused = await ManageAsync(host, "POST", "audits/redrive", key: "not-the-admin-key");

        Assert.Equal(200, listing.Status);
        Assert.Equal(4, JsonNode.Parse(listing.Body)!["approximate_count"]!.GetValue<long>());
        Assert.DoesNotContain(text[..100], listing.Body, StringComparison.Ordinal);
        Assert.Equal(200, viaTrigger.Response.StatusCode);
        Assert.Equal(2, JsonNode.Parse(first)!["redriven"]!.GetValue<int>());
        Assert.Equal(2, JsonNode.Parse(first)!["remaining"]!.GetValue<long>());
        Assert.Equal(200, rest.Status);
        Assert.Equal((0, 2, 0L), (JsonNode.Parse(rest.Body)!["redriven"]!.GetValue<int>(), JsonNode.Parse(rest.Body)!["discarded"]!.GetValue<int>(), JsonNode.Parse(rest.Body)!["remaining"]!.GetValue<long>()));
        Assert.Equal(401, refused.Status);
        Assert.Equal("invalid_api_key", JsonNode.Parse(refused.Body)!["error"]!["code"]!.GetValue<string>());
        Assert.Empty((await poison.PeekMessagesAsync(1)).Value);

        // Back on the audit queue exactly as poisoned, and the offloaded job still finds its payload.
        var back = (await audits.ReceiveMessagesAsync(32)).Value;
        Assert.Equal(new[] { offloaded.MessageText, small }.Order(StringComparer.Ordinal), back.Select(m => m.MessageText).Order(StringComparer.Ordinal));
        foreach (var message in back)
        {
            await host.Get<BackgroundFunctions>().QualityAudit(Encoding.UTF8.GetString(Convert.FromBase64String(message.MessageText)), CancellationToken.None);
        }

        var rows = await host.Get<IAuditStore>().QueryAsync(DateTimeOffset.MinValue, CancellationToken.None).Select(r => r.RequestId).ToListAsync();
        Assert.Equal(["req_fn_big", "req_fn_small"], rows.Order(StringComparer.Ordinal));
    }

    private static async Task<(int Status, string Body)> ManageAsync(FunctionsHost host, string method, string path, string? body = null, string key = AdminKey)
    {
        var context = host.Request(method, "/manage/" + path, body, key);
        var result = await host.Get<AdminFunctions>().Manage(context.Request, path);
        return (context.Response.StatusCode, await FunctionsHost.CompleteAsync(context, result));
    }
}
