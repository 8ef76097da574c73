using System.Text.Json.Nodes;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Metering;

/// <summary>
/// Fields the router does not know pass through to the provider, but the router meters every call at the catalog's
/// standard prices. <c>service_tier: "priority"</c> is a field OpenAI bills at a higher rate than the catalog's (and
/// Azure OpenAI's priority processing likewise): passed through, the operator pays the provider the priority price while
/// the tenant is billed, and its budgets charged, the standard one.
/// </summary>
public sealed class ServiceTierBillingTests
{
    [Fact]
    public async Task A_service_tier_the_catalog_cannot_price_is_not_passed_through_at_the_standard_price()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        await using var router = await RouterServerHost.StartAsync(settings);
        var body = new JsonObject
        {
            ["model"] = "sim-large",
            ["service_tier"] = "priority",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = SensitiveValues.Register("Draft a careful reply to a customer complaint about a late delivery") }),
        };

        using var response = await TestJson.PostAsync(router.Http, "v1/chat/completions", body.ToJsonString());
        var refused = response.StatusCode == System.Net.HttpStatusCode.BadRequest;

        // Either the router refuses a tier it cannot price, or the provider never sees it: not both a 200 at the standard
        // price and a priority call upstream.
        var forwarded = simulator.Received.Any(r => JsonNode.Parse(r.Body)?["service_tier"]?.GetValue<string>() == "priority");
        Assert.True(refused || !forwarded, "service_tier 'priority' reached the provider while the call was metered at the catalog's standard price");
    }
}
