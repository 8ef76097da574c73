using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Router.Core.Audits;
using Router.Functions;
using Router.Integration.Tests.Audits;
using Router.Integration.Tests.Storage;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Functions;

/// <summary>The <c>QualityAudit</c> queue trigger, invoked directly, on jobs whose payload goes through blob storage.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class QualityAuditFunctionTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_large_jobs_payload_blob_is_deleted_once_audited_and_a_redelivery_after_that_is_a_no_op()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        simulator.Model("sim-large").Responder = SimulatedJudge.Respond;
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:Storage:ConnectionString"] = azurite.Azurite.ConnectionString;
        settings["Router:Storage:TablePrefix"] = "q" + Guid.NewGuid().ToString("N")[..10];
        settings["Router:Audits:QueueName"] = "qa-" + Guid.NewGuid().ToString("N")[..12];
        settings["Router:Audits:PayloadContainer"] = "payloads-" + Guid.NewGuid().ToString("N")[..12];
        await using var host = new FunctionsHost(settings);
        var text = new string('x', 40_000);
        await host.Get<IAuditQueue>().EnqueueAsync(new AuditJob
        {
            RequestId = "req_big_" + Guid.NewGuid().ToString("N")[..8], TenantId = "acme", Timestamp = DateTimeOffset.UtcNow, Task = "chat", Band = "low",
            Model = "sim-small", Tier = "economy", Reason = AuditReasons.Sampled,
            Messages = [new AuditMessage("user", text)], Answer = text,
        }, CancellationToken.None);

        var queue = new QueueClient(azurite.Azurite.ConnectionString, settings["Router:Audits:QueueName"], new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var message = (await queue.ReceiveMessageAsync()).Value.MessageText;
        var payloads = new BlobContainerClient(azurite.Azurite.ConnectionString, settings["Router:Audits:PayloadContainer"]);
        Assert.Single(await payloads.GetBlobsAsync().ToListAsync());

        await host.Get<BackgroundFunctions>().QualityAudit(message, CancellationToken.None);
        Assert.Single(await host.Get<IAuditStore>().QueryAsync(DateTimeOffset.MinValue, CancellationToken.None).ToListAsync());
        Assert.Empty(await payloads.GetBlobsAsync().ToListAsync());

        var calls = simulator.ReceivedFor("sim-large");
        await host.Get<BackgroundFunctions>().QualityAudit(message, CancellationToken.None);
        Assert.Equal(calls, simulator.ReceivedFor("sim-large"));
        Assert.Single(await host.Get<IAuditStore>().QueryAsync(DateTimeOffset.MinValue, CancellationToken.None).ToListAsync());
    }
}
