using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Router.Core.Audits;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Audits;

/// <summary>What an audit never copies to the reference and judge models.</summary>
public sealed class AuditPrivacyTests
{
    private sealed class RecordingQueue : IAuditQueue
    {
        public ConcurrentQueue<AuditJob> Jobs { get; } = new();

        public ValueTask EnqueueAsync(AuditJob job, CancellationToken cancellationToken)
        {
            Jobs.Enqueue(job);
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task No_store_requests_personal_data_and_traffic_pinned_by_a_tenant_rule_are_not_audited()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var queue = new RecordingQueue();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Audits:SampleRate"] = "1";
        settings["Router:Tenants:local:Rules:0:Name"] = "eu-only";
        settings["Router:Tenants:local:Rules:0:When:metadata:region"] = "eu";
        settings["Router:Tenants:local:Rules:0:Then:pin_model"] = "sim-small";
        await using var router = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<IAuditQueue>(queue));

        async Task<string> AskAsync(string prompt, string? cacheControl = null, string metadata = "")
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
            {
                Content = TestJson.Body($$"""{"model":"router/economy"{{metadata}},"messages":[{"role":"user","content":"{{prompt}}"}]}"""),
            };
            if (cacheControl is not null)
            {
                request.Headers.CacheControl = CacheControlHeaderValue.Parse(cacheControl);
            }

            using var response = await router.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return response.Headers.GetValues("x-router-request-id").Single();
        }

        var plain = await AskAsync("Suggest a name for a bakery that sells sourdough.");
        var noStore = await AskAsync("Suggest a name for a shop that sells sourdough.", "no-store");
        var personal = await AskAsync("My SSN is 123-45-6789 and my card is 4111 1111 1111 1111; fill in the form for me.");
        var pinned = await AskAsync("Suggest a name for a cafe that sells sourdough.", metadata: ""","metadata":{"region":"eu"}""");

        var audited = queue.Jobs.Select(j => j.RequestId).ToHashSet(StringComparer.Ordinal);
        Assert.Contains(plain, audited);   // the control: sampling is on
        Assert.DoesNotContain(noStore, audited);
        Assert.DoesNotContain(personal, audited);
        Assert.DoesNotContain(pinned, audited);
    }
}
