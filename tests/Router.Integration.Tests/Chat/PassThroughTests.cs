using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Chat;

public sealed class PassThroughFixture : IAsyncLifetime
{
    public SimulatedProvider Simulator { get; private set; } = null!;

    public RouterServerHost Router { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(Simulator);
        settings["Router:MaxRequestBodyBytes"] = "65536";
        settings["Router:Execution:AttemptTimeout"] = "00:00:05"; // every test's calls, on a loaded machine; the hang tests wait it out
        settings["Router:Providers:down:Endpoint"] = "http://127.0.0.1:1/v1";
        settings["Router:Models:unreachable-model:Provider"] = "down";
        settings["Router:Models:unreachable-model:Tier"] = "Standard";
        Router = await RouterServerHost.StartAsync(settings);
    }

    public async Task DisposeAsync()
    {
        await Router.DisposeAsync();
        await Simulator.DisposeAsync();
    }
}

public sealed class PassThroughTests(PassThroughFixture fixture) : IClassFixture<PassThroughFixture>
{
    private SimulatedProvider Simulator => fixture.Simulator;

    private RouterServerHost Router => fixture.Router;

    [Fact]
    public async Task A_completion_round_trips_through_the_official_sdk()
    {
        var client = Router.ChatClient("sim-small");

        var result = await client.CompleteChatAsync([new UserChatMessage("What is the capital of France?")]);

        Assert.Equal(SimulatedProvider.DefaultAnswer("sim-small", "What is the capital of France?"), result.Value.Content[0].Text);
        Assert.True(result.Value.Usage.OutputTokenCount > 0);
        var headers = result.GetRawResponse().Headers;
        Assert.True(headers.TryGetValue("x-router-request-id", out var id) && id!.StartsWith("req_", StringComparison.Ordinal));
        Assert.True(headers.TryGetValue("x-router-model", out var model) && model == "sim-small");
    }

    [Fact]
    public async Task A_body_broken_on_the_wire_gets_an_invalid_request_error_in_openai_shape()
    {
        // A chunked body whose chunk size is not hexadecimal: Kestrel refuses it while the router reads the body.
        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(Router.BaseUrl.Host, Router.BaseUrl.Port);
        var stream = socket.GetStream();
        var request = $"POST /v1/chat/completions HTTP/1.1\r\nHost: {Router.BaseUrl.Authority}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZ\r\n{{}}\r\n0\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));

        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.StartsWith("HTTP/1.1 400", response, StringComparison.Ordinal);
        var json = JsonNode.Parse(response[response.IndexOf('{', StringComparison.Ordinal)..response.LastIndexOf('}')] + "}")!;
        Assert.Equal("invalid_request_error", (string?)json["error"]!["type"]);
        Assert.Contains("could not be read", (string?)json["error"]!["message"], StringComparison.Ordinal);
        Assert.DoesNotContain(Router.LogLines, l => l.Contains("BadHttpRequestException", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_streamed_completion_round_trips_through_the_official_sdk()
    {
        var client = Router.ChatClient("sim-large");
        var text = new StringBuilder();
        string? finish = null;

        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("Tell me a story")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish = update.FinishReason?.ToString() ?? finish;
        }

        Assert.Equal(SimulatedProvider.DefaultAnswer("sim-large", "Tell me a story"), text.ToString());
        Assert.Equal("Stop", finish);
    }

    [Fact]
    public async Task The_first_streamed_chunk_reaches_the_client_before_the_provider_has_finished()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var behavior = Simulator.Model("sim-medium");
        behavior.PauseAfterFirstChunk = release.Task;
        try
        {
            var completedBefore = Simulator.CompletedStreams;
            var client = Router.ChatClient("sim-medium");
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await using var updates = client.CompleteChatStreamingAsync([new UserChatMessage("stream please")], cancellationToken: timeout.Token)
                .GetAsyncEnumerator(timeout.Token);

            // The simulator holds the rest of the stream until the test releases it: a buffering router would never
            // deliver this first content chunk and the test would time out.
            string? first = null;
            while (first is null && await updates.MoveNextAsync())
            {
                first = updates.Current.ContentUpdate.FirstOrDefault(p => p.Text.Length > 0)?.Text;
            }

            Assert.NotNull(first);
            Assert.Equal(completedBefore, Simulator.CompletedStreams);

            release.SetResult();
            while (await updates.MoveNextAsync())
            {
            }

            // The simulator counts a stream once it has written [DONE], which the client may read first.
            for (var i = 0; i < 300 && Simulator.CompletedStreams == completedBefore; i++)
            {
                await Task.Delay(100);
            }

            Assert.Equal(completedBefore + 1, Simulator.CompletedStreams);
        }
        finally
        {
            release.TrySetResult();
            behavior.PauseAfterFirstChunk = null;
        }
    }

    [Fact]
    public async Task Unknown_fields_reach_the_provider_unchanged()
    {
        var sent = new JsonObject
        {
            ["model"] = "sim-small",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "find the weather in Zürich ☃" }),
            ["tools"] = new JsonArray(new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject
                {
                    ["name"] = "get_weather",
                    ["parameters"] = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject { ["city"] = new JsonObject { ["type"] = "string" } } },
                },
            }),
            ["tool_choice"] = "auto",
            ["response_format"] = new JsonObject { ["type"] = "json_schema", ["json_schema"] = new JsonObject { ["name"] = "w", ["strict"] = true, ["schema"] = new JsonObject { ["type"] = "object" } } },
            ["logprobs"] = true,
            ["top_logprobs"] = 3,
            ["x_vendor_extension"] = new JsonObject { ["nested"] = new JsonArray(1, 2.5, "three", null, true) },
            ["seed"] = 7,
        };
        var marker = Guid.NewGuid().ToString("N");
        sent["user"] = marker;

        using var response = await TestJson.PostAsync(Router.Http, "v1/chat/completions", sent.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = JsonNode.Parse(Simulator.Received.Single(r => r.Body.Contains(marker, StringComparison.Ordinal)).Body)!;
        Assert.True(JsonNode.DeepEquals(sent, received), $"sent {sent.ToJsonString()}\nreceived {received.ToJsonString()}");
    }

    [Fact]
    public async Task Sdk_options_for_tools_json_and_logprobs_reach_the_provider()
    {
        var client = Router.ChatClient("sim-small");
        var options = new ChatCompletionOptions
        {
            Tools = { ChatTool.CreateFunctionTool("lookup", "Looks a thing up", BinaryData.FromString("""{"type":"object","properties":{}}""")) },
            ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat(),
            IncludeLogProbabilities = true,
            TopLogProbabilityCount = 2,
            EndUserId = Guid.NewGuid().ToString("N"),
        };

        await client.CompleteChatAsync([new UserChatMessage("json please")], options);

        var received = JsonNode.Parse(Simulator.Received.Single(r => r.Body.Contains(options.EndUserId, StringComparison.Ordinal)).Body)!;
        Assert.Equal("lookup", received["tools"]![0]!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("json_object", received["response_format"]!["type"]!.GetValue<string>());
        Assert.True(received["logprobs"]!.GetValue<bool>());
        Assert.Equal(2, received["top_logprobs"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("{\"model\":\"sim-small\",", "invalid_json", null)]
    [InlineData("{\"model\":\"sim-small\"}", "missing_required_parameter", "messages")]
    [InlineData("{\"model\":\"sim-small\",\"messages\":[]}", null, "messages")]
    [InlineData("{\"model\":\"sim-small\",\"messages\":[{\"role\":\"user\",\"content\":{\"a\":1}}]}", "invalid_type", "messages[0].content")]
    [InlineData("{\"model\":\"sim-small\",\"stream\":1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "invalid_type", "stream")]
    [InlineData("{\"model\":[\"sim-small\"],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "invalid_type", "model")]
    public async Task Bad_input_gets_a_400_in_openai_shape(string body, string? code, string? param)
    {
        using var response = await TestJson.PostAsync(Router.Http, "v1/chat/completions", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await TestJson.ErrorAsync(response);
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal(code, error["code"]?.GetValue<string>());
        Assert.Equal(param, error["param"]?.GetValue<string>());
        Assert.True(response.Headers.Contains("x-router-request-id"));
    }

    [Fact]
    public async Task The_official_sdk_retrieves_a_model_and_reads_the_request_id()
    {
        var models = new OpenAI.Models.OpenAIModelClient(new System.ClientModel.ApiKeyCredential("no-key-needed-on-loopback"), new OpenAI.OpenAIClientOptions
        {
            Endpoint = new Uri(Router.BaseUrl, "v1"),
            RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(maxRetries: 0),
        });

        var model = (await models.GetModelAsync("sim-small")).Value;
        var alias = (await models.GetModelAsync("auto")).Value;
        var missing = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => models.GetModelAsync("gpt-17"));
        using var chat = await TestJson.PostAsync(Router.Http, "v1/chat/completions", TestJson.Chat("sim-small", "which request is this?"));

        Assert.Equal("sim-small", model.Id);
        Assert.Equal("auto", alias.Id);
        Assert.Equal(404, missing.Status);
        // OpenAI's SDKs read x-request-id (err.requestID, _request_id); it is the router's own request id.
        Assert.Equal(chat.Headers.GetValues("x-router-request-id").Single(), chat.Headers.GetValues("x-request-id").Single());
    }

    [Fact]
    public async Task An_unknown_model_is_a_400_naming_the_valid_choices()
    {
        using var response = await TestJson.PostAsync(Router.Http, "v1/chat/completions", TestJson.Chat("gpt-17", "hi"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await TestJson.ErrorAsync(response);
        Assert.Equal("model_not_found", error["code"]!.GetValue<string>());
        var message = error["message"]!.GetValue<string>();
        Assert.Contains("auto", message, StringComparison.Ordinal);
        Assert.Contains("router/premium", message, StringComparison.Ordinal);
        Assert.Contains("sim-small", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_refused_with_413_with_or_without_content_length()
    {
        var huge = TestJson.Chat("sim-small", new string('x', 100_000));
        using var withLength = await TestJson.PostAsync(Router.Http, "v1/chat/completions", huge);

        using var chunked = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(huge))),
        };
        chunked.Content.Headers.ContentLength = null;
        chunked.Headers.TransferEncodingChunked = true;
        using var withoutLength = await Router.Http.SendAsync(chunked);

        foreach (var response in new[] { withLength, withoutLength })
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Equal("request_too_large", (await TestJson.ErrorAsync(response))["code"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task An_unreachable_provider_is_a_502_saying_what_was_tried()
    {
        // The pinned model's only same-tier alternate fails too, so every candidate has failed.
        Simulator.Model("sim-medium").Script.Enqueue(new SimulatedFault.Status(500));

        using var response = await TestJson.PostAsync(Router.Http, "v1/chat/completions", TestJson.Chat("unreachable-model", "hi"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = await TestJson.ErrorAsync(response);
        Assert.Contains("unreachable-model (unreachable: connection failed", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("sim-medium (HTTP 500)", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_provider_that_does_not_answer_in_time_is_a_504_saying_what_was_tried()
    {
        Simulator.Model("sim-large").Script.Enqueue(new SimulatedFault.Hang());

        using var response = await TestJson.PostAsync(Router.Http, "v1/chat/completions", TestJson.Chat("sim-large", "hang"));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var error = await TestJson.ErrorAsync(response);
        Assert.Equal("upstream_timeout", error["code"]!.GetValue<string>());
        Assert.Contains("sim-large (timeout: no response within 5 s)", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deployment_that_does_not_answer_within_the_attempt_timeout_is_failed_over_not_the_whole_request()
    {
        // sim-medium hangs; its same-tier alternate is tried after the attempt's 5 s, not abandoned as a total timeout.
        Simulator.Model("sim-medium").Script.Enqueue(new SimulatedFault.Hang());

        using var response = await TestJson.PostAsync(Router.Http, "v1/chat/completions", TestJson.Chat("sim-medium", "hang then fail over"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var message = (await TestJson.ErrorAsync(response))["message"]!.GetValue<string>();
        Assert.Contains("sim-medium (timeout: no response within 5 s)", message, StringComparison.Ordinal);
        Assert.Contains("unreachable-model (unreachable: connection failed", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_provider_rejecting_the_request_passes_its_4xx_through()
    {
        Simulator.Model("sim-small").Script.Enqueue(new SimulatedFault.Status(422));

        using var response = await TestJson.PostAsync(Router.Http, "v1/chat/completions", TestJson.Chat("sim-small", "bad params"));

        Assert.Equal((HttpStatusCode)422, response.StatusCode);
        Assert.Contains("simulated failure 422", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_cut_after_its_first_chunk_ends_with_an_error_event_and_no_done()
    {
        Simulator.Model("sim-small").Script.Enqueue(new SimulatedFault.CutStream(2));

        using var response = await TestJson.PostAsync(Router.Http, "v1/chat/completions", TestJson.Chat("sim-small", "cut me", stream: true));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"content\":\"Simulated\"", text, StringComparison.Ordinal);
        Assert.Contains("event: error\ndata: {\"error\":", text, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Models_lists_the_aliases_and_the_catalog()
    {
        var body = JsonNode.Parse(await Router.Http.GetStringAsync("v1/models"))!;

        Assert.Equal("list", body["object"]!.GetValue<string>());
        var ids = body["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()).ToArray();
        Assert.Equal(["auto", "router/economy", "router/standard", "router/premium"], ids[..4]);
        Assert.Contains("sim-small", ids);
        Assert.Contains("sim-large", ids);
    }

    [Fact]
    public async Task Health_and_unknown_paths_answer_in_json()
    {
        using var health = await Router.Http.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ok", JsonNode.Parse(await health.Content.ReadAsStringAsync())!["status"]!.GetValue<string>());
        Assert.True(health.Headers.Contains("x-router-request-id"));

        using var missing = await Router.Http.GetAsync("v1/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        await TestJson.ErrorAsync(missing);
    }
}
