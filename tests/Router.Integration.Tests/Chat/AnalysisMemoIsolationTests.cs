using System.Net.Http.Headers;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Chat;

/// <summary>
/// The analysis memo is keyed by tenant as well as by the messages. Keyed by the messages alone, a prompt any tenant sent
/// recently was analysed and embedded for free when another tenant sent it: the embedding is the slowest local stage, so
/// one request told a tenant, by its latency, whether some other tenant had asked exactly that (a name, a deal, a
/// diagnosis) in the last minutes. The response cache is scoped by tenant for the same reason.
/// </summary>
public sealed class AnalysisMemoIsolationTests
{
    [Fact]
    public async Task A_prompt_another_tenant_sent_is_analysed_and_embedded_afresh()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Audits:Enabled"] = "false";
        settings["Router:ApiKeys:0:Tenant"] = "tenant-a";
        settings["Router:ApiKeys:0:Key"] = "memo-tenant-a-key-01";
        settings["Router:ApiKeys:1:Tenant"] = "tenant-b";
        settings["Router:ApiKeys:1:Key"] = "memo-tenant-b-key-01";
        var embeddings = new AnalysisMemoTests.CountingEmbeddings();
        await using var router = await RouterServerHost.StartAsync(settings, builder =>
            builder.Services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(embeddings));
        embeddings.Arm();   // the host's start-up warm-up embedded a sample already
        const string Prompt = "Draft a confidential note on the planned acquisition of Northwind Traders by Contoso";

        using var tenantA = await AskAsync(router, "memo-tenant-a-key-01", Prompt);
        var afterA = embeddings.Calls;
        using var tenantB = await AskAsync(router, "memo-tenant-b-key-01", Prompt);

        Assert.Equal("miss", tenantB.Headers.GetValues("x-router-cache").Single());
        Assert.Equal(1, afterA);
        Assert.Equal(2, embeddings.Calls);
    }

    private static async Task<HttpResponseMessage> AskAsync(RouterServerHost router, string key, string prompt)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(TestJson.Chat("auto", prompt)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var response = await router.Http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return response;
    }
}
