using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Router.Integration.Tests.Storage;
using Router.Testing.Simulator;
using Xunit.Abstractions;

namespace Router.Integration.Tests.Metering;

/// <summary>What a tenant is billed when the provider's <c>usage</c> is hostile or broken: it is never credited, never
/// billed for tokens the provider did not claim, and an answer that went out is never billed as zero tokens.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class ProviderUsageTests(AzuriteFixture azurite, ITestOutputHelper output) : IAsyncLifetime
{
    private SimulatedProvider _simulator = null!;

    public async Task InitializeAsync() => _simulator = await SimulatedProvider.StartAsync();

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    private async Task<(RouterServerHost Router, string Key)> StartAsync(string tenant, string tenantJson = "", Action<Dictionary<string, string?>>? configure = null)
    {
        var settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        settings["Router:Audits:Enabled"] = "false";
        settings["Router:LoopGuard:MaxRepeats"] = "10000";
        settings["Router:Cache:Enabled"] = "false";   // every call reaches the provider and is billed at its cost
        configure?.Invoke(settings);
        var router = await RouterServerHost.StartAsync(settings);
        await MeteringHost.CreateTenantAsync(router, tenant, tenantJson);
        var (_, key) = await MeteringHost.CreateKeyAsync(router, tenant);
        return (router, key);
    }

    private static string Completion(string usageJson, string content = "A short answer from the provider.", int choices = 1) =>
        "{\"id\":\"chatcmpl-hostile\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"sim-small\",\"choices\":["
        + string.Join(',', Enumerable.Range(0, choices).Select(i => $$"""{"index":{{i}},"message":{"role":"assistant","content":"{{content}}"},"finish_reason":"stop"}"""))
        + "]" + (usageJson.Length == 0 ? "" : ",\"usage\":" + usageJson) + "}";

    private void Answer(string body) =>
        _simulator.Model("sim-small").Script.Enqueue(new SimulatedFault.Raw(200, "application/json", body));

    private static decimal Header(HttpResponseMessage response, string name) =>
        decimal.Parse(response.Headers.GetValues(name).Single(), CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("""{"prompt_tokens":10,"completion_tokens":-1000000,"total_tokens":-999990}""", false)]
    [InlineData("""{"prompt_tokens":-1000000,"completion_tokens":10,"total_tokens":-999990}""", false)]
    [InlineData("""{"prompt_tokens":10,"completion_tokens":-1000000,"total_tokens":-999990}""", true)]
    public async Task Negative_token_counts_from_the_provider_never_credit_the_tenant(string usage, bool stream)
    {
        var (router, key) = await StartAsync("negative", ""","per_call_fee_usd":0.001,"markup_percent":50""");
        await using var _ = router;
        if (stream)
        {
            _simulator.Model("sim-small").Script.Enqueue(new SimulatedFault.Raw(200, "text/event-stream",
                "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"sim-small\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"A short answer.\"},\"finish_reason\":\"stop\"}]}\n\n"
                + "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"sim-small\",\"choices\":[],\"usage\":" + usage + "}\n\n"
                + "data: [DONE]\n\n"));
        }
        else
        {
            Answer(Completion(usage));
        }

        using var response = await MeteringHost.ChatAsync(router, key, TestJson.Chat("sim-small", "answer with negative usage", stream));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();

        // A stream's exact figures come in the SSE comment before [DONE]; a whole answer's in its headers.
        decimal cost, billed;
        if (stream)
        {
            var comment = text.Split('\n').Single(l => l.StartsWith(": x-router-cost-usd=", StringComparison.Ordinal));
            var figures = comment[2..].Split(' ').Select(p => p.Split('=')).ToDictionary(p => p[0], p => decimal.Parse(p[1], CultureInfo.InvariantCulture));
            (cost, billed) = (figures["x-router-cost-usd"], figures["x-router-billed-usd"]);
        }
        else
        {
            (cost, billed) = (Header(response, "x-router-cost-usd"), Header(response, "x-router-billed-usd"));
        }

        var totals = (await MeteringHost.UsageOnceRecordedAsync(router, key, 1))["totals"]!;
        output.WriteLine($"header cost {cost}, billed {billed}; ledger cost {totals["cost_usd"]}, fees {totals["fees_usd"]}, billed {totals["billed_usd"]}");

        // sim-small at $0.15/$0.60 per million: -1,000,000 completion tokens is a $0.60 credit, and a 50% markup on it a
        // $0.30 credit of fees.
        Assert.True(cost >= 0, $"the provider's cost reads ${cost}");
        Assert.True(billed >= 0, $"the tenant is billed ${billed}");
        Assert.True(totals["cost_usd"]!.GetValue<decimal>() >= 0, $"the ledger records a cost of ${totals["cost_usd"]}");
        Assert.True(totals["fees_usd"]!.GetValue<decimal>() >= 0, $"the ledger records fees of ${totals["fees_usd"]}");
        Assert.True(totals["prompt_tokens"]!.GetValue<long>() >= 0 && totals["completion_tokens"]!.GetValue<long>() >= 0, "negative token counts recorded");
    }

    [Fact]
    public async Task A_negative_cost_does_not_reopen_a_spent_session_cap()
    {
        // At $1,000 per million a call of this session really costs about $0.08 and reserves about $0.11: a $0.25 cap fits
        // three calls at most.
        var (router, key) = await StartAsync("negative-session", ""","session_spend_cap_usd":0.25""", s =>
        {
            s["Router:Models:sim-small:InputCostPerMillion"] = "1000";
            s["Router:Models:sim-small:OutputCostPerMillion"] = "1000";
        });
        await using var _ = router;
        const string Session = "agent-negative";
        static string Body(string text) =>
            $$"""{"model":"sim-small","max_tokens":100,"messages":[{"role":"user","content":"{{SensitiveValues.Register(text)}}"}]}""";

        // One hostile answer: -1,000,000 completion tokens, a $1,000 "credit" to the session.
        Answer(Completion("""{"prompt_tokens":10,"completion_tokens":-1000000,"total_tokens":-999990}"""));
        using (var hostile = await MeteringHost.ChatAsync(router, key, Body("the step the provider answers with negative usage"), Session))
        {
            Assert.Equal(HttpStatusCode.OK, hostile.StatusCode);
        }

        _simulator.Model("sim-small").Responder = _ => string.Join(' ', Enumerable.Range(0, 60).Select(i => $"w{i}"));
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            using var response = await MeteringHost.ChatAsync(router, key, Body($"agent step {i:00}: spend some money"), Session);
            statuses.Add(response.StatusCode);
        }

        var usage = await MeteringHost.UsageOnceRecordedAsync(router, key, 9);
        var realSpend = usage["totals"]!["billed_usd"]!.GetValue<decimal>() + 1000m - (10 * 1000m / 1_000_000m);
        output.WriteLine($"statuses: {string.Join(", ", statuses.Select(s => (int)s))}; real calls billed about ${realSpend}");
        Assert.Contains(HttpStatusCode.PaymentRequired, statuses);
        Assert.True(statuses.Count(s => s == HttpStatusCode.OK) <= 3, $"{statuses.Count(s => s == HttpStatusCode.OK)} calls of ~$0.08 admitted past a $0.25 session cap");
    }

    [Fact]
    public async Task A_negative_cached_token_count_is_not_billed_as_a_million_uncached_prompt_tokens()
    {
        var (router, key) = await StartAsync("negative-cached", configure: s => s["Router:Models:sim-small:CachedInputCostPerMillion"] = "0.075");
        await using var _ = router;
        Answer(Completion("""{"prompt_tokens":100,"completion_tokens":10,"total_tokens":110,"prompt_tokens_details":{"cached_tokens":-1000000}}"""));

        using var response = await MeteringHost.ChatAsync(router, key, TestJson.Chat("sim-small", "answer with negative cached tokens"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var cost = Header(response, "x-router-cost-usd");
        output.WriteLine($"billed cost {cost}");

        // 100 prompt and 10 completion tokens, at most: $0.000021. A negative cache count is no cache at all.
        Assert.True(cost <= (100 * 0.15m + 10 * 0.60m) / 1_000_000m, $"100 + 10 tokens billed ${cost}");
    }

    [Theory]
    [InlineData("""{"prompt_tokens":12,"completion_tokens":5000000000,"total_tokens":5000000012}""")]   // past Int32
    [InlineData("""{"prompt_tokens":12,"completion_tokens":1e15,"total_tokens":1e15}""")]
    [InlineData("""{"prompt_tokens":12,"completion_tokens":400.0,"total_tokens":412.0}""")]
    [InlineData("""{"prompt_tokens":12,"total_tokens":412}""")]                                          // a count missing
    [InlineData("""{}""")]
    public async Task An_answer_whose_completion_count_cannot_be_read_is_not_billed_as_zero_completion_tokens(string usage)
    {
        var (router, key) = await StartAsync("unreadable");
        await using var _ = router;
        var content = string.Join(' ', Enumerable.Range(0, 300).Select(i => $"word{i}"));
        Answer(Completion(usage, content));

        using var response = await MeteringHost.ChatAsync(router, key, TestJson.Chat("sim-small", "answer with unreadable usage"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var totals = (await MeteringHost.UsageOnceRecordedAsync(router, key, 1))["totals"]!;
        output.WriteLine($"billed {totals["prompt_tokens"]} + {totals["completion_tokens"]} tokens, ${totals["cost_usd"]}");

        // The answer went out with some 300 words: it was not free.
        Assert.True(totals["completion_tokens"]!.GetValue<long>() > 0, "an answer of 300 words billed as 0 completion tokens");
    }

    [Theory]
    [InlineData("""{"prompt_tokens":"12","completion_tokens":"40","total_tokens":"52"}""")]
    [InlineData("""{"prompt_tokens":12,"completion_tokens":null,"total_tokens":12}""")]
    public async Task A_completion_with_oddly_typed_usage_is_served_and_billed_not_thrown_away(string usage)
    {
        var (router, key) = await StartAsync("odd-usage");
        await using var _ = router;
        Answer(Completion(usage));

        using var response = await MeteringHost.ChatAsync(router, key, TestJson.Chat("sim-small", "answer with string usage"));
        var totals = (await MeteringHost.UsageOnceRecordedAsync(router, key, 1))["totals"]!;
        output.WriteLine($"{(int)response.StatusCode}; provider answered {_simulator.Answered()} + {_simulator.Received.Count} received; billed ${totals["cost_usd"]}, errors {totals["errors"]}");

        // The provider answered 200 with a whole completion (and bills the router for it): the client gets it, and the
        // tenant is billed for it, rather than the answer being dropped as "not a chat completion".
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(_simulator.Received);
        Assert.True(totals["cost_usd"]!.GetValue<decimal>() > 0);
    }

    [Fact]
    public async Task Without_usage_every_choice_of_an_n_3_answer_is_billed_not_just_the_first()
    {
        var (router, key) = await StartAsync("choices");
        await using var _ = router;
        var content = string.Join(' ', Enumerable.Range(0, 200).Select(i => $"word{i}"));

        Answer(Completion("", content));
        using (var one = await MeteringHost.ChatAsync(router, key, TestJson.Chat("sim-small", "one answer please")))
        {
            Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        }

        var single = (await MeteringHost.UsageOnceRecordedAsync(router, key, 1))["totals"]!["completion_tokens"]!.GetValue<long>();

        Answer(Completion("", content, choices: 3));
        var body = new JsonObject
        {
            ["model"] = "sim-small",
            ["n"] = 3,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = SensitiveValues.Register("three answers please") }),
        }.ToJsonString();
        using (var three = await MeteringHost.ChatAsync(router, key, body))
        {
            Assert.Equal(HttpStatusCode.OK, three.StatusCode);
        }

        var both = (await MeteringHost.UsageOnceRecordedAsync(router, key, 2))["totals"]!["completion_tokens"]!.GetValue<long>();
        output.WriteLine($"one choice: {single} completion tokens; three choices: {both - single}");
        Assert.True(both - single >= 3 * single, $"three choices of {single} tokens each billed as {both - single} completion tokens");
    }

    [Fact]
    public async Task More_choices_than_OpenAI_allows_are_refused_before_their_worst_case_can_overflow()
    {
        var (router, key) = await StartAsync("overflow", ""","session_spend_cap_usd":0.25""");
        await using var _ = router;

        // 100,000 max tokens for each of 21,475 choices was 2,147,500,000 completion tokens, past Int32.MaxValue: the worst
        // case wrapped to a negative estimate and the request was admitted under a $0.25 cap. n is now at most 128 (as at
        // OpenAI), and the estimate is multiplied as a long.
        string Body(int n) => new JsonObject
        {
            ["model"] = "sim-small",
            ["max_tokens"] = 100_000,
            ["n"] = n,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = SensitiveValues.Register($"many answers please, {n}") }),
        }.ToJsonString();

        using (var most = await MeteringHost.ChatAsync(router, key, Body(128), session: "s1"))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, most.StatusCode);   // $7.68 worst case, past the cap
        }

        using var tooMany = await MeteringHost.ChatAsync(router, key, Body(21_475), session: "s2");
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.Contains("must be at most 128", await tooMany.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Without_usage_tool_call_arguments_and_reasoning_are_billed_not_just_the_text(bool stream)
    {
        var (router, key) = await StartAsync("generated-" + stream.ToString().ToLowerInvariant());
        await using var _ = router;
        // 200 words of arguments and 200 of reasoning around an empty text: before, only the text was counted, so a
        // tool-calling answer without usage was billed 0 completion tokens.
        var arguments = new JsonObject { ["query"] = string.Join(' ', Enumerable.Range(0, 200).Select(i => $"term{i}")) }.ToJsonString();
        var reasoning = string.Join(' ', Enumerable.Range(0, 200).Select(i => $"step{i}"));
        if (stream)
        {
            string Chunk(JsonObject delta, string? finish = null) => "data: " + new JsonObject
            {
                ["id"] = "c", ["object"] = "chat.completion.chunk", ["created"] = 1, ["model"] = "sim-small",
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }),
            }.ToJsonString() + "\n\n";
            JsonObject Call(string? name, string fragment) => new()
            {
                ["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["function"] = name is null ? new JsonObject { ["arguments"] = fragment } : new JsonObject { ["name"] = name, ["arguments"] = fragment },
                }),
            };
            var half = arguments.Length / 2;
            _simulator.Model("sim-small").Script.Enqueue(new SimulatedFault.Raw(200, "text/event-stream",
                Chunk(new JsonObject { ["role"] = "assistant", ["reasoning_content"] = reasoning })
                + Chunk(Call("search_documents", arguments[..half]))
                + Chunk(Call(null, arguments[half..]), "tool_calls")
                + "data: [DONE]\n\n"));
        }
        else
        {
            Answer(new JsonObject
            {
                ["id"] = "c", ["object"] = "chat.completion", ["created"] = 1, ["model"] = "sim-small",
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["finish_reason"] = "tool_calls",
                    ["message"] = new JsonObject
                    {
                        ["role"] = "assistant",
                        ["content"] = null,
                        ["reasoning_content"] = reasoning,
                        ["tool_calls"] = new JsonArray(new JsonObject
                        {
                            ["id"] = "call_1", ["type"] = "function",
                            ["function"] = new JsonObject { ["name"] = "search_documents", ["arguments"] = arguments },
                        }),
                    },
                }),
            }.ToJsonString());
        }

        var body = new JsonObject
        {
            ["model"] = "sim-small",
            ["stream"] = stream,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = SensitiveValues.Register("find the documents") }),
        }.ToJsonString();
        using (var response = await MeteringHost.ChatAsync(router, key, body))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsStringAsync();
        }

        var completion = (await MeteringHost.UsageOnceRecordedAsync(router, key, 1))["totals"]!["completion_tokens"]!.GetValue<long>();
        output.WriteLine($"billed {completion} completion tokens");
        // Each of the 400 words is at least one token; the name and the JSON around the arguments add more.
        Assert.True(completion >= 400, $"an answer of 200 words of arguments and 200 of reasoning billed as {completion} completion tokens");
    }
}
