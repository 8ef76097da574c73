using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Router.Core.Metering;
using Router.Testing.Simulator;
using Xunit.Abstractions;

namespace Router.Integration.Tests.Execution;

/// <summary>Providers that misbehave at the HTTP and SSE level: what the router's client receives, whether the attempt
/// fails over (only before anything reaches the client) and what the usage row bills.</summary>
public sealed class MisbehavingProviderTests(ITestOutputHelper output) : IAsyncLifetime
{
    // Lowered from 64 MiB so that an answer past it takes kilobytes, not gigabytes.
    private const int MaxResponseBytes = 64 * 1024;

    private SimulatedProvider _simulator = null!;
    private RouterServerHost _router = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatedProvider.StartAsync();
        _router = await RouterServerHost.StartAsync(new Dictionary<string, string?>
        {
            ["Router:UseDefaultCatalog"] = "false",
            ["Router:Providers:sim:Endpoint"] = _simulator.BaseUrl.ToString(),
            ["Router:Models:primary:Provider"] = "sim",
            ["Router:Models:primary:Tier"] = "Economy",
            ["Router:Models:primary:InputCostPerMillion"] = "1.00",
            ["Router:Models:primary:OutputCostPerMillion"] = "2.00",
            ["Router:Models:alternate:Provider"] = "sim",
            ["Router:Models:alternate:Tier"] = "Economy",
            ["Router:Models:alternate:InputCostPerMillion"] = "1.00",
            ["Router:Models:alternate:OutputCostPerMillion"] = "2.00",
            ["Router:Execution:AttemptTimeout"] = "00:00:05",
            ["Router:Execution:MaxResponseBytes"] = MaxResponseBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Router:Tenants:local:PerCallFeeUsd"] = "0.001",
            ["Router:Embeddings:Provider"] = "None",
            ["Router:Audits:Enabled"] = "false",
        });
    }

    public async Task DisposeAsync()
    {
        await _router.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    private static string Chunk(string content, string? finish = null) => new JsonObject
    {
        ["id"] = "chatcmpl-raw",
        ["object"] = "chat.completion.chunk",
        ["created"] = 1,
        ["model"] = "primary",
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = new JsonObject { ["content"] = content }, ["finish_reason"] = finish }),
    }.ToJsonString();

    private static string UsageChunk(int prompt, int completion) =>
        "{\"id\":\"chatcmpl-raw\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"primary\",\"choices\":[],"
        + $"\"usage\":{{\"prompt_tokens\":{prompt},\"completion_tokens\":{completion},\"total_tokens\":{prompt + completion}}}}}";

    private static string Completion(string content) =>
        "{\"id\":\"chatcmpl-raw\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"primary\",\"choices\":[{\"index\":0,"
        + $"\"message\":{{\"role\":\"assistant\",\"content\":\"{content}\"}},\"finish_reason\":\"stop\"}}],"
        + "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7,\"total_tokens\":18}}";

    private void PrimaryAnswers(string contentType, string body) =>
        _simulator.Model("primary").Script.Enqueue(new SimulatedFault.Raw(200, contentType, body));

    private async Task<(HttpResponseMessage Response, string Text)> AskAsync(string prompt, bool stream)
    {
        // Only so that a hang fails the test instead of the suite.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(TestJson.Chat("primary", prompt, stream)) };
        var response = await _router.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var text = await response.Content.ReadAsStringAsync(timeout.Token);
        output.WriteLine($"{(int)response.StatusCode} from {Served(response)}:\n{text}");
        return (response, text);
    }

    private static string Served(HttpResponseMessage response) => response.Headers.GetValues("x-router-model").Single();

    // The text of every content delta the client received, and whether its stream ended with [DONE], read as an SSE
    // client reads it (the data lines of one event joined with a newline).
    private static (string Content, bool Done) ReadStream(string sse)
    {
        var content = new StringBuilder();
        var done = false;
        foreach (var evt in sse.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var data = string.Join('\n', evt.Split('\n').Where(l => l.StartsWith("data:", StringComparison.Ordinal)).Select(l => l[5..].TrimStart(' ')));
            if (data.Length == 0)
            {
                continue;
            }

            done = data == "[DONE]";
            if (!done && JsonNode.Parse(data)!["choices"] is JsonArray { Count: > 0 } choices && choices[0]!["delta"]?["content"] is JsonValue delta)
            {
                content.Append(delta.GetValue<string>());
            }
        }

        return (content.ToString(), done);
    }

    private async Task<UsageRecord> RowAsync(HttpResponseMessage response)
    {
        var requestId = response.Headers.GetValues("x-router-request-id").Single();
        var ledger = _router.Services.GetRequiredService<IUsageLedger>();
        var day = DateOnly.FromDateTime(DateTime.UtcNow);
        for (var i = 0; i < 600; i++)
        {
            var row = await ledger.QueryAsync("local", day.AddDays(-1), day.AddDays(1), CancellationToken.None).FirstOrDefaultAsync(r => r.RequestId == requestId);
            if (row is not null)
            {
                output.WriteLine($"row: {row.Model} {row.Outcome} {row.PromptTokens}+{row.CompletionTokens} tokens ({row.UsageSource}), cost {row.CostUsd}, fee {row.FeeUsd}");
                return row;
            }

            await Task.Delay(50);
        }

        throw new Xunit.Sdk.XunitException("no usage row for " + requestId);
    }

    [Theory]
    [InlineData("an html page after it")]
    [InlineData("a second completion after it")]
    public async Task A_whole_answer_followed_by_more_bytes_is_not_relayed_as_invalid_json(string kind)
    {
        // The router reads the first JSON value and ignores the rest, then relays every byte with application/json.
        PrimaryAnswers("application/json", Completion("Hi") + (kind == "an html page after it" ? "<html><body>502 Bad Gateway</body></html>" : Completion("again")));

        var (response, text) = await AskAsync("a completion with " + kind, stream: false);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var parsed = Record.Exception(() => JsonNode.Parse(text));
        Assert.True(parsed is null, $"the client got a 200 whose JSON body does not parse: {parsed?.Message}");
        Assert.Equal("alternate", Served(response));
    }

    [Fact]
    public async Task A_stream_whose_events_spread_their_data_over_several_lines_is_billed_from_the_providers_usage()
    {
        // SSE joins the data lines of one event with a newline, so each event below is one whole JSON payload; the
        // client reads it so, but the router reads each line alone, finds no usage and no content, and bills 0 tokens.
        static string OverTwoLines(string json)
        {
            var cut = json.IndexOf(",\"choices\"", StringComparison.Ordinal) + 1;
            return "data: " + json[..cut] + "\ndata: " + json[cut..] + "\n\n";
        }

        PrimaryAnswers("text/event-stream", OverTwoLines(Chunk("Hello")) + OverTwoLines(Chunk(" world", "stop")) + OverTwoLines(UsageChunk(11, 700)) + "data: [DONE]\n\n");

        var (response, text) = await AskAsync("an answer whose events use two data lines", stream: true);

        Assert.Equal(("Hello world", true), ReadStream(text));
        var row = await RowAsync(response);
        Assert.Equal(("success", 11, 700), (row.Outcome, row.PromptTokens, row.CompletionTokens));
    }

    [Fact]
    public async Task A_stream_whose_first_event_is_an_error_spread_over_several_data_lines_fails_over()
    {
        PrimaryAnswers("text/event-stream", "data: {\"error\":\ndata: {\"message\":\"The server is overloaded.\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n");

        var (response, text) = await AskAsync("a stream that opens with a two-line error", stream: true);

        Assert.Equal("alternate", Served(response));
        Assert.DoesNotContain("overloaded", text, StringComparison.Ordinal);
        Assert.True(ReadStream(text).Done);
    }

    [Fact]
    public async Task A_stream_that_starts_with_a_byte_order_mark_keeps_its_first_chunk()
    {
        // An SSE client strips one leading BOM; the router takes the first event for one without data and drops it.
        PrimaryAnswers("text/event-stream", "\uFEFFdata: " + Chunk("Hello") + "\n\ndata: " + Chunk(" world", "stop") + "\n\ndata: [DONE]\n\n");

        var (response, text) = await AskAsync("a stream behind a byte order mark", stream: true);

        Assert.Equal("primary", Served(response));
        Assert.Equal(("Hello world", true), ReadStream(text.TrimStart('\uFEFF')));
    }

    [Fact]
    public async Task A_stream_that_sends_only_done_fails_over_as_an_empty_answer_does()
    {
        // The unstreamed equivalent (a completion without choices) fails over; this one is served empty and billed the
        // prompt and the tenant's fee.
        PrimaryAnswers("text/event-stream", "data: [DONE]\n\n");

        var (response, text) = await AskAsync("a stream with nothing in it", stream: true);

        Assert.Equal("alternate", Served(response));
        Assert.NotEmpty(ReadStream(text).Content);
    }

    [Fact]
    public async Task A_stream_whose_first_data_is_no_json_chunk_fails_over()
    {
        // A proxy's plain-text error framed as an event: nothing of an answer has arrived, and an SDK cannot parse it.
        PrimaryAnswers("text/event-stream", "data: Internal Server Error\n\n");

        var (response, text) = await AskAsync("a stream that opens with plain text", stream: true);

        Assert.Equal("alternate", Served(response));
        Assert.DoesNotContain("Internal Server Error", text, StringComparison.Ordinal);
        Assert.True(ReadStream(text).Done);
    }

    [Fact]
    public async Task A_body_past_the_size_bound_fails_over_before_anything_reaches_the_client()
    {
        PrimaryAnswers("application/json", Completion(new string('a', MaxResponseBytes)));

        var (response, text) = await AskAsync("a completion larger than the router reads", stream: false);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("alternate", Served(response));
        Assert.DoesNotContain("aaaa", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_first_stream_event_past_the_size_bound_fails_over()
    {
        PrimaryAnswers("text/event-stream", "data: " + Chunk(new string('a', MaxResponseBytes)) + "\n\ndata: [DONE]\n\n");

        var (response, text) = await AskAsync("a stream whose first event is larger than the router reads", stream: true);

        Assert.Equal("alternate", Served(response));
        Assert.DoesNotContain("aaaa", text, StringComparison.Ordinal);
        Assert.True(ReadStream(text).Done);
    }

    [Fact]
    public async Task A_stream_event_past_the_size_bound_after_the_first_chunk_ends_the_stream_with_an_error_event()
    {
        // Many events add up to more than the bound: it is one event's, not the stream's.
        var small = string.Concat(Enumerable.Repeat("data: " + Chunk("word ") + "\n\n", 2 * MaxResponseBytes / Chunk("word ").Length));
        PrimaryAnswers("text/event-stream", small + "data: " + Chunk(new string('a', MaxResponseBytes)) + "\n\ndata: [DONE]\n\n");

        var (response, text) = await AskAsync("a stream with one event larger than the router reads", stream: true);

        Assert.Equal("primary", Served(response));
        Assert.Contains("event: error", text, StringComparison.Ordinal);
        Assert.DoesNotContain("aaaa", text, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", text, StringComparison.Ordinal);
        Assert.Equal("error", (await RowAsync(response)).Outcome);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Without_usage_reasoning_sent_both_as_text_and_as_details_is_billed_once(bool stream)
    {
        // OpenRouter sends a reasoning model's thinking twice in one message (or delta): as the text 'reasoning' and as
        // 'reasoning_details' parts carrying the same text. The model generated it once, and the provider bills it once.
        var reasoning = string.Join(' ', Enumerable.Range(0, 300).Select(i => $"step{i}"));
        string Answer(bool withDetails)
        {
            var message = new JsonObject { ["role"] = "assistant", ["content"] = "Paris.", ["reasoning"] = reasoning };
            if (withDetails)
            {
                message["reasoning_details"] = new JsonArray(new JsonObject { ["type"] = "reasoning.text", ["text"] = reasoning, ["format"] = "unknown", ["index"] = 0 });
            }

            if (!stream)
            {
                return new JsonObject
                {
                    ["id"] = "gen-1", ["object"] = "chat.completion", ["created"] = 1, ["model"] = "primary",
                    ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = "stop" }),
                }.ToJsonString();
            }

            var first = new JsonObject
            {
                ["id"] = "gen-1", ["object"] = "chat.completion.chunk", ["created"] = 1, ["model"] = "primary",
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = message, ["finish_reason"] = null }),
            }.ToJsonString();
            return "data: " + first + "\n\ndata: " + Chunk("", "stop") + "\n\ndata: [DONE]\n\n";
        }

        PrimaryAnswers(stream ? "text/event-stream" : "application/json", Answer(withDetails: false));
        var (once, _) = await AskAsync("the capital of France, thinking once", stream);
        PrimaryAnswers(stream ? "text/event-stream" : "application/json", Answer(withDetails: true));
        var (twice, _) = await AskAsync("the capital of France, thinking shown twice", stream);

        Assert.Equal(("primary", "primary"), (Served(once), Served(twice)));
        var (alone, both) = ((await RowAsync(once)).CompletionTokens, (await RowAsync(twice)).CompletionTokens);
        Assert.True(alone >= 300, $"the reasoning alone billed {alone} completion tokens");
        Assert.True(both == alone, $"the same reasoning billed {alone} completion tokens as 'reasoning' alone and {both} with 'reasoning_details' repeating it");
    }
}
