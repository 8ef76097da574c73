using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Router.Integration.Tests.Storage;
using Router.Testing.Simulator;
using Xunit.Abstractions;

namespace Router.Integration.Tests.Metering;

/// <summary>
/// Request features that pass through to the provider unchanged but cost the operator more than the router meters. The
/// router prices every call at the catalog's one input and one output price per token and reserves a worst case against
/// the budgets before it; a feature the provider bills at another rate, or per call, must be refused (as
/// <c>service_tier: "priority"</c> is) or priced, never passed through at the text price.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class PassThroughFeatureBillingTests(AzuriteFixture azurite, ITestOutputHelper output) : IAsyncLifetime
{
    private SimulatedProvider _simulator = null!;

    public async Task InitializeAsync() => _simulator = await SimulatedProvider.StartAsync();

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    private async Task<(RouterServerHost Router, string Key)> StartAsync(string tenant, string tenantJson = "", Action<Dictionary<string, string?>>? configure = null)
    {
        var settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        settings["Router:Audits:Enabled"] = "false";
        settings["Router:LoopGuard:MaxRepeats"] = "10000";
        settings["Router:Cache:Enabled"] = "false";
        configure?.Invoke(settings);
        var router = await RouterServerHost.StartAsync(settings);
        await MeteringHost.CreateTenantAsync(router, tenant, tenantJson);
        var (_, key) = await MeteringHost.CreateKeyAsync(router, tenant);
        return (router, key);
    }

    private void Answer(JsonObject completion) =>
        _simulator.Model("sim-small").Script.Enqueue(new SimulatedFault.Raw(200, "application/json", completion.ToJsonString()));

    private static JsonObject Completion(JsonObject message, JsonObject usage) => new()
    {
        ["id"] = "chatcmpl-feature",
        ["object"] = "chat.completion",
        ["created"] = 1,
        ["model"] = "sim-small",
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = "stop" }),
        ["usage"] = usage,
    };

    private static decimal Header(HttpResponseMessage response, string name) =>
        decimal.Parse(response.Headers.GetValues(name).Single(), CultureInfo.InvariantCulture);

    /// <summary>True when the router refused the call as a feature it cannot price: a 400 naming <paramref name="param"/>,
    /// with nothing sent to the provider.</summary>
    private async Task<bool> RefusedAsync(HttpResponseMessage response, string param)
    {
        if (response.StatusCode != HttpStatusCode.BadRequest)
        {
            return false;
        }

        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        output.WriteLine(error.ToJsonString());
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal(param, error["param"]!.GetValue<string>());
        Assert.Contains("per-token prices", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(_simulator.Received);
        return true;
    }

    // sim-small's catalog prices: $0.15 per million prompt tokens, $0.60 per million completion tokens.
    private static decimal TextPrice(long prompt, long completion) => ((prompt * 0.15m) + (completion * 0.60m)) / 1_000_000m;

    [Fact]
    public async Task Audio_output_is_not_billed_at_the_text_price()
    {
        var (router, key) = await StartAsync("audio-out");
        await using var _ = router;

        // OpenAI's answer to modalities ["text","audio"]: the spoken answer in message.audio, and 1,960 of the 2,000
        // completion tokens audio tokens, which OpenAI bills at its audio rate ($20 per million on gpt-4o-mini-audio against
        // $0.60 for text; $80 against $10 on gpt-4o-audio): the operator pays 30 times what a text price covers.
        Answer(Completion(
            new JsonObject
            {
                ["role"] = "assistant",
                ["content"] = null,
                ["refusal"] = null,
                ["audio"] = new JsonObject { ["id"] = "audio_1", ["data"] = "UklGRiQAAABXQVZFZm10IBAAAAABAAEA", ["expires_at"] = 1_900_000_000, ["transcript"] = "Ahoy there, sailor." },
            },
            new JsonObject
            {
                ["prompt_tokens"] = 20,
                ["completion_tokens"] = 2000,
                ["total_tokens"] = 2020,
                ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = 0, ["audio_tokens"] = 0 },
                ["completion_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0, ["audio_tokens"] = 1960, ["text_tokens"] = 40 },
            }));
        var body = new JsonObject
        {
            ["model"] = "sim-small",
            ["modalities"] = new JsonArray("text", "audio"),
            ["audio"] = new JsonObject { ["voice"] = "alloy", ["format"] = "wav" },
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = SensitiveValues.Register("Greet me like a pirate, out loud") }),
        }.ToJsonString();

        using var response = await MeteringHost.ChatAsync(router, key, body);
        var refused = await RefusedAsync(response, "modalities");
        var cost = refused ? 0 : Header(response, "x-router-cost-usd");
        output.WriteLine($"{(int)response.StatusCode}; billed cost {cost}; text price of the tokens {TextPrice(20, 2000)}");

        // Either the router refuses an output modality it cannot price, or it bills the audio tokens above the text price.
        Assert.True(refused || cost > TextPrice(20, 2000),
            $"an answer of 1,960 audio tokens was passed through and billed ${cost}, the text price of its tokens");
    }

    [Fact]
    public async Task Input_audio_is_not_billed_at_the_text_price()
    {
        var (router, key) = await StartAsync("audio-in");
        await using var _ = router;

        // A minute of speech is some 600 audio prompt tokens at OpenAI, billed at its audio input rate ($10 per million on
        // gpt-4o-mini-audio against $0.15 for text).
        Answer(Completion(
            new JsonObject { ["role"] = "assistant", ["content"] = "The speaker asks for the harbour master." },
            new JsonObject
            {
                ["prompt_tokens"] = 1500,
                ["completion_tokens"] = 10,
                ["total_tokens"] = 1510,
                ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = 0, ["audio_tokens"] = 1480, ["text_tokens"] = 20 },
                ["completion_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0, ["audio_tokens"] = 0 },
            }));
        var body = new JsonObject
        {
            ["model"] = "sim-small",
            ["messages"] = new JsonArray(new JsonObject
            {
                ["role"] = "user",
                ["content"] = new JsonArray(
                    new JsonObject { ["type"] = "text", ["text"] = SensitiveValues.Register("What does the speaker ask for?") },
                    new JsonObject { ["type"] = "input_audio", ["input_audio"] = new JsonObject { ["data"] = Convert.ToBase64String(new byte[4096]), ["format"] = "wav" } }),
            }),
        }.ToJsonString();

        using var response = await MeteringHost.ChatAsync(router, key, body);
        var refused = await RefusedAsync(response, "messages");
        var cost = refused ? 0 : Header(response, "x-router-cost-usd");
        output.WriteLine($"{(int)response.StatusCode}; billed cost {cost}; text price of the tokens {TextPrice(1500, 10)}");

        Assert.True(refused || cost > TextPrice(1500, 10),
            $"a prompt of 1,480 audio tokens was passed through and billed ${cost}, the text price of its tokens");
    }

    [Fact]
    public async Task Web_search_is_not_passed_through_at_the_price_of_its_tokens_alone()
    {
        var (router, key) = await StartAsync("web-search");
        await using var _ = router;

        // OpenAI's search models charge per call for web_search_options ($25 to $50 per 1,000 calls on
        // gpt-4o-mini-search-preview and gpt-4o-search-preview), on top of the tokens, and say nothing of it in usage: at
        // $0.025 a call the search costs a hundred times these tokens.
        Answer(Completion(
            new JsonObject
            {
                ["role"] = "assistant",
                ["content"] = "The ferry leaves at 9:15 today.",
                ["annotations"] = new JsonArray(new JsonObject
                {
                    ["type"] = "url_citation",
                    ["url_citation"] = new JsonObject { ["url"] = "https://example.com/ferry", ["title"] = "Ferry times", ["start_index"] = 0, ["end_index"] = 31 },
                }),
            },
            new JsonObject { ["prompt_tokens"] = 200, ["completion_tokens"] = 40, ["total_tokens"] = 240 }));
        var body = new JsonObject
        {
            ["model"] = "sim-small",
            ["web_search_options"] = new JsonObject { ["search_context_size"] = "high" },
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = SensitiveValues.Register("When does the ferry leave today?") }),
        }.ToJsonString();

        using var response = await MeteringHost.ChatAsync(router, key, body);
        var refused = await RefusedAsync(response, "web_search_options");
        var cost = refused ? 0 : Header(response, "x-router-cost-usd");
        output.WriteLine($"{(int)response.StatusCode}; billed cost {cost}; tokens alone {TextPrice(200, 40)}");

        // OpenAI's lowest search fee, $0.025 a call: refused, or billed at least that.
        Assert.True(refused || cost >= 0.025m, $"a web-search call was passed through and billed ${cost}, the price of its tokens alone");
    }

    [Fact]
    public async Task Concurrent_high_detail_images_cannot_pass_a_budget_by_more_than_one_request()
    {
        // sim-small priced and able to see as gpt-4o-mini (the default catalog's economy vision model). gpt-4o-mini bills an
        // image 33 times the tokens gpt-4o does (2,833 base and 5,667 per 512-pixel tile, against 85 and 170) so that it costs
        // the same in dollars: a 2048 x 2048 high-detail image is 25,501 prompt tokens there, $0.0038. The router reserves an
        // image at gpt-4o's 1,105 tokens whatever the model, $0.00017 here.
        var (router, key) = await StartAsync("images", ""","daily_budget_usd":0.001""", s => s["Router:Models:sim-small:SupportsVision"] = "true");
        await using var _ = router;
        var behavior = _simulator.Model("sim-small");
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        behavior.PauseAfterFirstChunk = resume.Task;

        // The simulator reports a token per four characters of the content it received: the image's 102,000 characters
        // are the 25,500 tokens gpt-4o-mini would bill for it.
        var image = "data:image/jpeg;base64," + new string('A', 102_000);
        string Body(int i) => new JsonObject
        {
            ["model"] = "sim-small",
            ["stream"] = true,
            ["max_tokens"] = 20,
            ["messages"] = new JsonArray(new JsonObject
            {
                ["role"] = "user",
                ["content"] = new JsonArray(
                    new JsonObject { ["type"] = "text", ["text"] = SensitiveValues.Register($"What boat is in harbour photo {i}?") },
                    new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = image, ["detail"] = "high" } }),
            }),
        }.ToJsonString();

        const int Calls = 5;
        var calls = Enumerable.Range(0, Calls).Select(i => Task.Run(async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(Body(i)) };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            using var response = await router.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            await response.Content.ReadAsStringAsync();
            return response.StatusCode;
        })).ToArray();

        // Every call is in flight at once: each reached the provider (which holds its stream) or was answered already.
        for (var waited = 0; waited < 200 && _simulator.Received.Count + calls.Count(c => c.IsCompleted) < Calls; waited++)
        {
            await Task.Delay(100);
        }

        resume.SetResult();
        var statuses = await Task.WhenAll(calls);
        var totals = (await MeteringHost.UsageOnceRecordedAsync(router, key, Calls))["totals"]!;
        var billed = totals["billed_usd"]!.GetValue<decimal>();
        var served = statuses.Count(s => s == HttpStatusCode.OK);
        output.WriteLine($"statuses {string.Join(", ", statuses.Select(s => (int)s))}; {totals["prompt_tokens"]} prompt tokens, billed ${billed}");

        // The README: spend passes a cap by at most one request. One of these calls costs about $0.0038.
        var oneCall = served == 0 ? 0 : billed / served;
        Assert.True(billed <= 0.001m + oneCall,
            $"{served} calls of ${oneCall:0.######} each were admitted at once under a $0.001 daily budget, spending ${billed}");
    }

    [Fact]
    public async Task On_your_data_cannot_search_with_the_operators_managed_identity()
    {
        // Azure OpenAI "On Your Data": data_sources makes the deployment query a search index, billed to whoever owns the
        // index, with the deployment's own identity when authentication is system_assigned_managed_identity. Passed through,
        // any tenant can have the operator's Azure OpenAI resource read any index its identity may read (the operator's, or
        // another tenant's data), and the search is metered nowhere.
        var (router, key) = await StartAsync("on-your-data", configure: s =>
        {
            s["Router:Providers:azure:Type"] = "AzureOpenAI";
            s["Router:Providers:azure:Endpoint"] = _simulator.RootUrl.ToString();
            s["Router:Providers:azure:ApiKey"] = "azure-feature-test-key";
            s["Router:Models:azure-mini:Provider"] = "azure";
            s["Router:Models:azure-mini:UpstreamModel"] = "mini-deployment";
            s["Router:Models:azure-mini:Tier"] = "Standard";
            s["Router:Models:azure-mini:InputCostPerMillion"] = "0.15";
            s["Router:Models:azure-mini:OutputCostPerMillion"] = "0.60";
        });
        await using var _ = router;
        var body = new JsonObject
        {
            ["model"] = "azure-mini",
            ["data_sources"] = new JsonArray(new JsonObject
            {
                ["type"] = "azure_search",
                ["parameters"] = new JsonObject
                {
                    ["endpoint"] = "https://operator-search.search.windows.net",
                    ["index_name"] = "other-tenants-contracts",
                    ["authentication"] = new JsonObject { ["type"] = "system_assigned_managed_identity" },
                },
            }),
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = SensitiveValues.Register("List every contract renewal date you can find") }),
        }.ToJsonString();

        using var response = await MeteringHost.ChatAsync(router, key, body);
        var refused = await RefusedAsync(response, "data_sources");
        var forwarded = _simulator.Received.Any(r => JsonNode.Parse(r.Body)?["data_sources"] is JsonArray);
        output.WriteLine($"{(int)response.StatusCode}; data_sources forwarded: {forwarded}");

        Assert.True(refused || !forwarded,
            "data_sources with the deployment's managed identity reached Azure OpenAI on a tenant's behalf");
    }
}
