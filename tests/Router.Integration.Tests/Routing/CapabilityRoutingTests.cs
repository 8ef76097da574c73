// reasoning_effort and prediction are marked experimental in the OpenAI SDK; they are what this test sends.
#pragma warning disable OPENAI001

using System.ClientModel;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Routing;

public sealed class CapabilityRoutingFixture : IAsyncLifetime
{
    public SimulatedProvider Simulator { get; private set; } = null!;

    public RouterServerHost Router { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Simulator = await SimulatedProvider.StartAsync();
        Simulator.RecordRequests = true;

        // As at OpenAI: the chat models refuse reasoning_effort, and the reasoning model refuses sampling and logprobs.
        foreach (var chat in (string[])["sim-small", "sim-medium", "sim-large"])
        {
            Simulator.Model(chat).RejectedParameters = new HashSet<string>(StringComparer.Ordinal) { "reasoning_effort" };
        }

        Simulator.Model("sim-reasoner").RejectedParameters = new HashSet<string>(StringComparer.Ordinal) { "temperature", "top_p", "logprobs", "top_logprobs" };

        var settings = RouterServerHost.SimulatedCatalog(Simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Models:sim-reasoner:Provider"] = "sim";
        settings["Router:Models:sim-reasoner:Tier"] = "Standard";
        settings["Router:Models:sim-reasoner:InputCostPerMillion"] = "0.30";
        settings["Router:Models:sim-reasoner:OutputCostPerMillion"] = "1.20";
        settings["Router:Models:sim-reasoner:SupportsReasoningEffort"] = "true";
        settings["Router:Models:sim-reasoner:SupportsSamplingParameters"] = "false";
        settings["Router:Models:sim-reasoner:SupportsLogprobs"] = "false";
        Router = await RouterServerHost.StartAsync(settings);
    }

    public async Task DisposeAsync()
    {
        await Router.DisposeAsync();
        await Simulator.DisposeAsync();
    }
}

/// <summary>Request features some models lack (reasoning_effort, prediction, logprobs, sampling parameters): the router
/// sends them only to models that accept them, and names the parameter when none does.</summary>
public sealed class CapabilityRoutingTests(CapabilityRoutingFixture fixture) : IClassFixture<CapabilityRoutingFixture>
{
    private SimulatedProvider Simulator => fixture.Simulator;

    private RouterServerHost Router => fixture.Router;

    [Theory]
    [InlineData("auto")]
    [InlineData("router/economy")]
    public async Task A_request_with_reasoning_effort_is_routed_to_a_model_that_accepts_it(string model)
    {
        var marker = Guid.NewGuid().ToString("N");
        var options = new ChatCompletionOptions { ReasoningEffortLevel = ChatReasoningEffortLevel.Low, EndUserId = marker };

        // A short greeting, which the table sends to the economy tier, whose model refuses reasoning_effort.
        var result = await Router.ChatClient(model).CompleteChatAsync([new UserChatMessage("hi there")], options);

        var headers = result.GetRawResponse().Headers;
        Assert.True(headers.TryGetValue("x-router-model", out var answered));
        Assert.Equal("sim-reasoner", answered);
        Assert.True(headers.TryGetValue("x-router-fallbacks", out var fallbacks));
        Assert.Equal("0", fallbacks);
        var sent = Simulator.Received.Where(r => r.Body.Contains(marker, StringComparison.Ordinal)).ToList();
        Assert.Equal(["sim-reasoner"], sent.Select(r => r.Model));
        Assert.Equal("low", JsonNode.Parse(sent[0].Body)!["reasoning_effort"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_temperature_at_its_default_still_reaches_the_reasoning_model_that_accepts_only_that()
    {
        var marker = Guid.NewGuid().ToString("N");
        var options = new ChatCompletionOptions { ReasoningEffortLevel = ChatReasoningEffortLevel.Low, Temperature = 1f, TopP = 1f, EndUserId = marker };

        var result = await Router.ChatClient("auto").CompleteChatAsync([new UserChatMessage("hi there")], options);

        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-router-model", out var answered));
        Assert.Equal("sim-reasoner", answered);
        var sent = Assert.Single(Simulator.Received, r => r.Body.Contains(marker, StringComparison.Ordinal));
        Assert.Equal(1, JsonNode.Parse(sent.Body)!["temperature"]!.GetValue<double>());
    }

    [Fact]
    public async Task Sampling_parameters_and_logprobs_keep_a_request_away_from_a_model_that_refuses_them()
    {
        var marker = Guid.NewGuid().ToString("N");
        var options = new ChatCompletionOptions { Temperature = 0.2f, IncludeLogProbabilities = true, EndUserId = marker };

        // The standard tier, where the reasoning model is the cheapest and so would come first.
        var client = Router.ChatClient("router/standard");
        var result = await client.CompleteChatAsync([new UserChatMessage("hi there")], options);

        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-router-model", out var answered));
        Assert.Equal("sim-medium", answered);
        Assert.DoesNotContain(Simulator.Received, r => r.Body.Contains(marker, StringComparison.Ordinal) && r.Model == "sim-reasoner");
    }

    [Fact]
    public async Task When_no_model_accepts_a_parameter_the_request_gets_a_400_naming_it_and_no_provider_is_called()
    {
        var marker = Guid.NewGuid().ToString("N");
        var options = new ChatCompletionOptions
        {
            OutputPrediction = ChatOutputPrediction.CreateStaticContentPrediction("class User { }"),
            EndUserId = marker,
        };

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Router.ChatClient("auto").CompleteChatAsync([new UserChatMessage("rename the class")], options));

        Assert.Equal(400, refused.Status);
        var error = JsonNode.Parse(refused.GetRawResponse()!.Content.ToString())!["error"]!;
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal("prediction", error["param"]!.GetValue<string>());
        Assert.Equal("unsupported_value", error["code"]!.GetValue<string>());
        Assert.Contains("prediction", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(Simulator.Received, r => r.Body.Contains(marker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_model_the_client_names_gets_the_request_as_sent_and_its_refusal_is_passed_through()
    {
        var marker = Guid.NewGuid().ToString("N");
        var options = new ChatCompletionOptions { ReasoningEffortLevel = ChatReasoningEffortLevel.High, EndUserId = marker };

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Router.ChatClient("sim-small").CompleteChatAsync([new UserChatMessage("hi there")], options));

        Assert.Equal(400, refused.Status);
        var error = JsonNode.Parse(refused.GetRawResponse()!.Content.ToString())!["error"]!;
        Assert.Equal("reasoning_effort", error["param"]!.GetValue<string>());
        Assert.Equal(["sim-small"], Simulator.Received.Where(r => r.Body.Contains(marker, StringComparison.Ordinal)).Select(r => r.Model));
    }
}
