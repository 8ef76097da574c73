using System.Net.Http.Headers;
using System.Text;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Caching;

/// <summary>
/// The embedded cache's byte budget (<c>Router:Cache:Index:MaxAnswerBytes</c>) is one least-recently-used pool for every
/// tenant, and an answer is charged for its prompt's bytes too. One tenant sending a few long prompts therefore evicts
/// every other tenant's cached answers: at the default 256 MB, a few hundred economy calls with prompts near the context
/// window (a few dollars) empty the cache of the whole router. The loop guard keeps a share per tenant for the same
/// reason; the cache has none.
/// </summary>
public sealed class CacheCapacityIsolationTests
{
    [Fact]
    public async Task One_tenants_long_prompts_do_not_evict_another_tenants_cached_answers()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Audits:Enabled"] = "false";
        settings["Router:Cache:Index:MaxAnswerBytes"] = "1048576";   // the smallest budget allowed, so a few prompts fill it
        settings["Router:ApiKeys:0:Tenant"] = "victim";
        settings["Router:ApiKeys:0:Key"] = "capacity-victim-key-01";
        settings["Router:ApiKeys:1:Tenant"] = "flooder";
        settings["Router:ApiKeys:1:Key"] = "capacity-flooder-key-01";
        await using var router = await RouterServerHost.StartAsync(settings);
        const string Question = "What is the boiling point of water at sea level in Celsius?";

        Assert.Equal("miss", await AskAsync(router, "capacity-victim-key-01", Question));
        Assert.Equal("exact", await AskAsync(router, "capacity-victim-key-01", Question));

        // Twelve distinct prompts of 60,000 characters (about 120 KB each as the cache counts them): more than the budget.
        var random = new Random(7);
        for (var i = 0; i < 12; i++)
        {
            var text = new StringBuilder();
            while (text.Length < 60_000)
            {
                text.Append('w').Append(random.Next(1_000_000)).Append(' ');
            }

            Assert.Equal("miss", await AskAsync(router, "capacity-flooder-key-01", text.ToString(), register: false));
        }

        Assert.Equal("exact", await AskAsync(router, "capacity-victim-key-01", Question));
    }

    private static async Task<string> AskAsync(RouterServerHost router, string key, string prompt, bool register = true)
    {
        var body = register
            ? TestJson.Chat("sim-small", prompt)
            : new System.Text.Json.Nodes.JsonObject
            {
                ["model"] = "sim-small",
                ["messages"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["role"] = "user", ["content"] = prompt }),
            }.ToJsonString();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await router.Http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return response.Headers.GetValues("x-router-cache").Single();
    }
}
