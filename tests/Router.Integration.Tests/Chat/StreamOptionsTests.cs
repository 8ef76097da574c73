using System.Net;
using System.Text.Json.Nodes;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Chat;

/// <summary>
/// OpenAI refuses <c>stream_options</c> on a request that does not stream. Passed through, the same request would be
/// refused on an OpenAI route and answered on another; the router refuses it itself, before calling or billing anything,
/// as it refuses an <c>include_usage</c> that is not a boolean.
/// </summary>
public sealed class StreamOptionsTests
{
    [Theory]
    [InlineData("""{"model":"sim-small","stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""",
        "stream_options", "invalid_value", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")]
    [InlineData("""{"model":"sim-small","stream":true,"stream_options":{"include_usage":"yes"},"messages":[{"role":"user","content":"hi"}]}""",
        "stream_options.include_usage", "invalid_type", "'stream_options.include_usage' must be a boolean.")]
    public async Task Invalid_stream_options_are_a_400_before_the_provider_is_called_or_anything_billed(string body, string param, string code, string message)
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        await using var router = await RouterServerHost.StartAsync(RouterServerHost.SimulatedCatalog(simulator));

        using var response = await TestJson.PostAsync(router.Http, "v1/chat/completions", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await TestJson.ErrorAsync(response);
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal(param, error["param"]!.GetValue<string>());
        Assert.Equal(code, error["code"]!.GetValue<string>());
        Assert.Equal(message, error["message"]!.GetValue<string>());
        Assert.Empty(simulator.Received);
        using var usage = await router.Http.GetAsync("v1/usage");
        Assert.Equal(HttpStatusCode.OK, usage.StatusCode);
        var totals = JsonNode.Parse(await usage.Content.ReadAsStringAsync())!["totals"]!;
        Assert.Equal(0m, totals["cost_usd"]!.GetValue<decimal>());
        Assert.Equal(0, totals["prompt_tokens"]!.GetValue<long>());
    }
}
