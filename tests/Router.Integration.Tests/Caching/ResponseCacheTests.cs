using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Caching;

public sealed class CacheFixture : IAsyncLifetime
{
    public SimulatedProvider Simulator { get; private set; } = null!;

    public RouterServerHost Router { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(Simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Embeddings:Provider"] = "Local";
        settings["Router:Audits:Enabled"] = "false";
        settings["Router:ApiKeys:0:Tenant"] = "tenant-a";
        settings["Router:ApiKeys:0:Key"] = "cache-tenant-a-key-01";
        settings["Router:ApiKeys:1:Tenant"] = "tenant-b";
        settings["Router:ApiKeys:1:Key"] = "cache-tenant-b-key-01";
        Router = await RouterServerHost.StartAsync(settings);
    }

    public async Task DisposeAsync()
    {
        await Router.DisposeAsync();
        await Simulator.DisposeAsync();
    }
}

/// <summary>The response cache through Router.Server, black box: only headers, bodies and the provider's call counts.</summary>
public sealed class ResponseCacheTests(CacheFixture fixture) : IClassFixture<CacheFixture>
{
    private async Task<HttpResponseMessage> AskAsync(string prompt, string key = "cache-tenant-a-key-01", bool stream = false, string? cacheControl = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(TestJson.Chat("router/economy", prompt, stream)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (cacheControl is not null)
        {
            request.Headers.TryAddWithoutValidation("Cache-Control", cacheControl);
        }

        return await fixture.Router.Http.SendAsync(request);
    }

    private static string Header(HttpResponseMessage response, string name) => response.Headers.GetValues(name).Single();

    private static async Task<string> ContentAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"]!["content"]!.GetValue<string>();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_answer_with_citations_is_not_cached_since_a_hit_would_replay_its_text_without_them(bool stream)
    {
        var prompt = $"What does the latest release note say? ({(stream ? "streamed" : "whole")})";
        const string Message = """{"role":"assistant","content":"It adds caching [1].","refusal":null,"annotations":[{"type":"url_citation","url_citation":{"url":"https://example.com/notes","title":"Notes"}}]}""";
        var body = stream
            ? "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"sim-small\",\"choices\":[{\"index\":0,\"delta\":" + Message + "}]}\n\n"
              + "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"sim-small\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"
            : "{\"id\":\"c\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"sim-small\",\"choices\":[{\"index\":0,\"message\":" + Message + ",\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":6,\"total_tokens\":15}}";
        fixture.Simulator.Model("sim-small").Script.Enqueue(new SimulatedFault.Raw(200, stream ? "text/event-stream" : "application/json", body));

        using var first = await AskAsync(prompt, stream: stream);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Contains("url_citation", await first.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await Task.Delay(200);   // the cache is written just after the answer goes out
        using var second = await AskAsync(prompt, stream: stream);

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("miss", Header(second, "x-router-cache"));
    }

    [Fact]
    public async Task The_same_prompt_twice_is_an_exact_hit_served_without_calling_the_provider()
    {
        const string Prompt = "What are good names for a golden retriever puppy?";
        using var first = await AskAsync(Prompt);
        var calls = fixture.Simulator.Received.Count;
        using var second = await AskAsync(Prompt);

        Assert.Equal("miss", Header(first, "x-router-cache"));
        Assert.Equal("exact", Header(second, "x-router-cache"));
        Assert.Equal(calls, fixture.Simulator.Received.Count);
        Assert.Equal(await ContentAsync(first), await ContentAsync(second));
        Assert.Equal("0", Header(second, "x-router-cost-usd"));
        // The replayed usage is the provider's own count for that very prompt, not a fresh estimate.
        Assert.Equal(await UsageAsync(first), await UsageAsync(second));
    }

    private static async Task<(int Prompt, int Completion)> UsageAsync(HttpResponseMessage response)
    {
        var usage = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["usage"]!;
        return (usage["prompt_tokens"]!.GetValue<int>(), usage["completion_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_paraphrase_is_a_semantic_hit_with_its_similarity()
    {
        using var original = await AskAsync("How do I reset my router to factory settings?");
        var calls = fixture.Simulator.Received.Count;
        using var paraphrase = await AskAsync("How can I reset my router to its factory settings?");

        Assert.Equal("semantic", Header(paraphrase, "x-router-cache"));
        var similarity = double.Parse(Header(paraphrase, "x-router-similarity"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(similarity, 0.86, 1.0);
        Assert.Equal(calls, fixture.Simulator.Received.Count);
        Assert.Equal(await ContentAsync(original), await ContentAsync(paraphrase));
    }

    [Fact]
    public async Task A_look_alike_with_a_different_number_misses()
    {
        using var first = await AskAsync("Convert 25 degrees Celsius to Fahrenheit.");
        using var lookAlike = await AskAsync("Convert 35 degrees Celsius to Fahrenheit.");

        Assert.Equal("miss", Header(lookAlike, "x-router-cache"));
        Assert.NotEqual(await ContentAsync(first), await ContentAsync(lookAlike));
    }

    [Fact]
    public async Task The_same_prompt_from_another_tenant_misses()
    {
        const string Prompt = "List three benefits of regular stretching.";
        using var tenantA = await AskAsync(Prompt);
        using var tenantAagain = await AskAsync(Prompt);
        using var tenantB = await AskAsync(Prompt, key: "cache-tenant-b-key-01");

        Assert.Equal("exact", Header(tenantAagain, "x-router-cache"));
        Assert.Equal("miss", Header(tenantB, "x-router-cache"));
    }

    [Fact]
    public async Task No_store_bypasses_the_cache_and_no_cache_skips_reading_it()
    {
        const string Prompt = "Suggest a title for a blog post about home composting.";
        using var stored = await AskAsync(Prompt);
        using var noStore = await AskAsync(Prompt, cacheControl: "no-store");
        using var noCache = await AskAsync(Prompt, cacheControl: "no-cache");
        using var normal = await AskAsync(Prompt);

        Assert.Equal("bypass", Header(noStore, "x-router-cache"));
        Assert.Equal("bypass", Header(noCache, "x-router-cache"));
        Assert.Equal("exact", Header(normal, "x-router-cache"));
    }

    [Fact]
    public async Task Route_says_what_the_cache_would_do_with_the_request_and_changes_nothing()
    {
        const string Prompt = "How do I descale my espresso machine at home?";
        const string Paraphrase = "How can I descale my espresso machine at home?";

        var before = await PreviewAsync(Prompt);
        var callsBefore = fixture.Simulator.Received.Count;
        var stillBefore = await PreviewAsync(Prompt);
        using (var answered = await AskAsync(Prompt))
        {
            Assert.Equal("miss", Header(answered, "x-router-cache"));
        }

        var exact = await PreviewAsync(Prompt);
        var semantic = await PreviewAsync(Paraphrase);
        var noCache = await PreviewAsync(Prompt, "no-cache");
        var otherTenant = await PreviewAsync(Prompt, key: "cache-tenant-b-key-01");

        Assert.Equal(("miss", null), before);
        Assert.Equal(("miss", null), stillBefore);   // a preview stores nothing
        Assert.Equal(callsBefore + 1, fixture.Simulator.Received.Count);   // and calls no model
        Assert.Equal(("exact", null), exact);
        Assert.Equal("semantic", semantic.Status);
        Assert.InRange(semantic.Similarity!.Value, 0.86, 1.0);
        Assert.Equal(("bypass", null), noCache);
        Assert.Equal(("miss", null), otherTenant);
        using var served = await AskAsync(Paraphrase);
        Assert.Equal("semantic", Header(served, "x-router-cache"));
        Assert.Equal(semantic.Similarity.Value, double.Parse(Header(served, "x-router-similarity"), System.Globalization.CultureInfo.InvariantCulture), 3);
    }

    private async Task<(string Status, double? Similarity)> PreviewAsync(string prompt, string? cacheControl = null, string key = "cache-tenant-a-key-01")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/route") { Content = TestJson.Body(TestJson.Chat("router/economy", prompt)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (cacheControl is not null)
        {
            request.Headers.TryAddWithoutValidation("Cache-Control", cacheControl);
        }

        using var response = await fixture.Router.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var cache = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["cache"]!.AsObject();
        Assert.True(cache.ContainsKey("similarity"));   // the contract's shape: present, null unless semantic
        return (cache["status"]!.GetValue<string>(), cache["similarity"]?.GetValue<double>());
    }

    [Fact]
    public async Task A_streamed_request_served_from_the_cache_is_valid_sse_ending_in_done()
    {
        const string Prompt = "Explain in one paragraph why the sky is blue.";
        using var first = await AskAsync(Prompt);
        var expected = await ContentAsync(first);

        using var streamed = await AskAsync(Prompt, stream: true);
        var text = await streamed.Content.ReadAsStringAsync();

        Assert.Equal("exact", Header(streamed, "x-router-cache"));
        Assert.Equal("text/event-stream", streamed.Content.Headers.ContentType?.MediaType);
        Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
        var events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        var content = string.Concat(events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!["choices"]!.AsArray())
            .Where(c => c.Count > 0).Select(c => c[0]!["delta"]!["content"]?.GetValue<string>() ?? ""));
        Assert.Equal(expected, content);
    }

    private async Task<HttpResponseMessage> SendAsync(JsonObject body, string key = "cache-tenant-a-key-01") =>
        await TestJson.PostAsync(fixture.Router.Http, "v1/chat/completions", body.ToJsonString(), key);

    private static JsonObject Conversation(string model, params (string Role, string Content)[] messages) => new()
    {
        ["model"] = model,
        ["messages"] = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]),
    };

    [Fact]
    public async Task Follow_ups_to_one_conversation_are_compared_by_what_they_ask_not_by_the_turn_they_edit()
    {
        (string, string)[] history =
        [
            ("user", "Write a short story about a lighthouse keeper who befriends a seal."),
            ("assistant", "Every evening the old keeper climbed the tower, and every evening the grey seal waited on the rocks below."),
        ];
        using var poem = await SendAsync(Conversation("router/economy", [.. history, ("user", "Rewrite it as a poem.")]));
        using var summary = await SendAsync(Conversation("router/economy", [.. history, ("user", "Summarize it in one sentence.")]));
        using var poemAgain = await SendAsync(Conversation("router/economy", [.. history, ("user", "Rewrite it as a poem.")]));

        Assert.Equal("miss", Header(poem, "x-router-cache"));
        // Both edits are analysed as the story they edit; the cache compares the edits themselves.
        Assert.Equal("miss", Header(summary, "x-router-cache"));
        Assert.NotEqual(await ContentAsync(poem), await ContentAsync(summary));
        Assert.Equal("exact", Header(poemAgain, "x-router-cache"));
    }

    [Fact]
    public async Task Questions_under_one_long_persona_system_prompt_are_compared_by_the_question()
    {
        const string Persona = "You are Ava, the friendly virtual assistant of a retail bank. You help customers with everyday banking: "
            + "accounts, cards, transfers, online banking and branch services. Always be polite and concise, never ask for full card "
            + "numbers or passwords, and suggest calling the support line for anything involving fraud. Answer in the customer's "
            + "language, use short paragraphs, and end with a question that offers further help. If you are unsure, say so and "
            + "point the customer to the help pages instead of guessing.";
        using var reset = await SendAsync(Conversation("router/economy", ("system", Persona), ("user", "how do i reset my online banking password?")));
        using var hours = await SendAsync(Conversation("router/economy", ("system", Persona), ("user", "how late are your branches open at the weekend?")));
        using var paraphrase = await SendAsync(Conversation("router/economy", ("system", Persona), ("user", "how can i reset my online banking password?")));

        Assert.Equal("miss", Header(reset, "x-router-cache"));
        Assert.Equal("miss", Header(hours, "x-router-cache"));
        Assert.Equal("semantic", Header(paraphrase, "x-router-cache"));
        Assert.Equal(await ContentAsync(reset), await ContentAsync(paraphrase));
    }

    [Fact]
    public async Task An_answer_from_a_cheaper_tier_is_not_served_to_a_request_routed_to_a_better_one()
    {
        const string Prompt = "Describe a cat in two sentences.";
        JsonObject Auto(double quality) => new()
        {
            ["model"] = "auto",
            ["router"] = new JsonObject { ["quality"] = quality },
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Prompt }),
        };

        using var cheap = await SendAsync(Auto(0.0));
        using var best = await SendAsync(Auto(1.0));
        using var cheapAgain = await SendAsync(Auto(0.0));

        Assert.Equal(("miss", "economy"), (Header(cheap, "x-router-cache"), Header(cheap, "x-router-tier")));
        Assert.Equal(("miss", "premium"), (Header(best, "x-router-cache"), Header(best, "x-router-tier")));
        // The premium answer now stored may serve a request the router would send to economy.
        Assert.Equal(("exact", "premium"), (Header(cheapAgain, "x-router-cache"), Header(cheapAgain, "x-router-tier")));
    }

    [Fact]
    public async Task A_stream_that_ends_in_the_providers_error_is_not_cached()
    {
        const string Prompt = "Write two sentences about autumn leaves.";
        fixture.Simulator.Model("sim-small").Script.Enqueue(new SimulatedFault.ErrorInStream(3));
        using var failed = await AskAsync(Prompt, stream: true);
        var text = await failed.Content.ReadAsStringAsync();
        using var next = await AskAsync(Prompt);

        Assert.Contains("\"generation_failed\"", text, StringComparison.Ordinal);
        Assert.Equal("miss", Header(next, "x-router-cache"));
        using var again = await AskAsync(Prompt);
        Assert.Equal("exact", Header(again, "x-router-cache"));
    }

    [Fact]
    public async Task Requests_for_logprobs_or_with_other_provider_parameters_are_kept_apart()
    {
        const string Prompt = "Name three colours of the rainbow.";
        JsonObject Body(Action<JsonObject>? extra = null)
        {
            var body = new JsonObject { ["model"] = "router/economy", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Prompt }) };
            extra?.Invoke(body);
            return body;
        }

        using var plain = await SendAsync(Body());
        using var topK = await SendAsync(Body(b => b["top_k"] = 5));
        using var logprobs = await SendAsync(Body(b => b["logprobs"] = true));
        using var logprobsAgain = await SendAsync(Body(b => b["logprobs"] = true));
        using var plainAgain = await SendAsync(Body());

        Assert.Equal("miss", Header(topK, "x-router-cache"));
        Assert.Equal("bypass", Header(logprobs, "x-router-cache"));
        Assert.Equal("bypass", Header(logprobsAgain, "x-router-cache"));
        Assert.Equal("exact", Header(plainAgain, "x-router-cache"));
    }

    [Fact]
    public async Task An_agent_making_progress_through_tool_calls_is_not_taken_for_a_loop()
    {
        var messages = new JsonArray(
            new JsonObject { ["role"] = "system", ["content"] = "You are a coding agent with file tools." },
            new JsonObject { ["role"] = "user", ["content"] = "Find why the unit test test_parse_dates fails in src/dates.py and fix it." });
        var statuses = new List<HttpStatusCode>();
        for (var round = 0; round < 12; round++)
        {
            var body = new JsonObject { ["model"] = "router/economy", ["messages"] = messages.DeepClone() };
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(body.ToJsonString()) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "cache-tenant-a-key-01");
            request.Headers.Add("x-session-id", "agent-run-progress");
            using var response = await fixture.Router.Http.SendAsync(request);
            statuses.Add(response.StatusCode);

            // The agent reads another file each round and gets its content back.
            var call = $"call_{round}";
            messages.Add(new JsonObject
            {
                ["role"] = "assistant",
                ["content"] = null,
                ["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["id"] = call, ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = "read_file", ["arguments"] = $$"""{"path":"src/module_{{round}}.py"}""" },
                }),
            });
            messages.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = call, ["content"] = $"def helper_{round}(): return {round}" });
        }

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
    }
}
