using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Models;
using Router.Functions;
using Router.Integration.Tests.Functions;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Contract;

public sealed class ContractFixture : IAsyncLifetime
{
    public const string Key = "contract-acme-key-0001";
    public const string BrokeKey = "contract-broke-key-0001";
    public const string AdminKey = "contract-admin-key-0001";

    public SimulatedProvider Simulator { get; private set; } = null!;

    public RouterServerHost Router { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(Simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Audits:Enabled"] = "false";
        settings["Router:AdminKey"] = AdminKey;
        settings["Router:LoopGuard:MaxRepeats"] = "2";
        settings["Router:ApiKeys:0:Tenant"] = "acme";
        settings["Router:ApiKeys:0:Key"] = Key;
        settings["Router:Tenants:broke:DailyBudgetUsd"] = "0.000001";
        settings["Router:ApiKeys:1:Tenant"] = "broke";
        settings["Router:ApiKeys:1:Key"] = BrokeKey;
        Router = await RouterServerHost.StartAsync(settings);
    }

    public async Task DisposeAsync()
    {
        await Router.DisposeAsync();
        await Simulator.DisposeAsync();
    }
}

/// <summary>CONTRACT.md and the README seen from outside the self-hosted server: what a client reads in headers,
/// status codes and bodies. Each prompt is used once, since the fixture's loop guard refuses a third repeat.</summary>
public sealed class ContractConformanceTests(ContractFixture fixture) : IClassFixture<ContractFixture>
{
    // CONTRACT.md, "Response headers (every routed response, streaming or not)"; x-router-similarity only on semantic hits.
    internal static readonly string[] RoutedHeaders =
    [
        "x-router-request-id", "x-router-model", "x-router-tier", "x-router-task", "x-router-complexity", "x-router-risk",
        "x-router-cache", "x-router-fallbacks", "x-router-cost-usd", "x-router-savings-usd",
    ];

    private RouterServerHost Router => fixture.Router;

    private async Task<HttpResponseMessage> ChatAsync(string json, string key = ContractFixture.Key, string? session = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(json) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (session is not null)
        {
            request.Headers.Add("x-session-id", session);
        }

        return await Router.Http.SendAsync(request);
    }

    private static void AssertRoutedHeaders(HttpResponseMessage response)
    {
        var missing = RoutedHeaders.Where(h => !response.Headers.Contains(h)).ToArray();
        Assert.True(missing.Length == 0, $"HTTP {(int)response.StatusCode} is missing {string.Join(", ", missing)}");
    }

    [Theory]
    [InlineData("router/2")]
    [InlineData("router/0")]
    [InlineData("router/economy,premium")]
    public async Task A_model_name_that_models_does_not_list_is_a_400_unknown_model(string model)
    {
        using var models = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        models.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ContractFixture.Key);
        using var list = await Router.Http.SendAsync(models);
        var listed = JsonNode.Parse(await list.Content.ReadAsStringAsync())!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()).ToArray();
        Assert.DoesNotContain(model, listed);

        using var response = await ChatAsync(TestJson.Chat(model, $"Which tier answers this? ({model})"));

        // CONTRACT.md: "An unknown model is a 400 naming the valid choices."
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("model_not_found", (await TestJson.ErrorAsync(response))["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_official_sdk_retrieves_every_model_that_models_lists()
    {
        var client = new OpenAIModelClient(new ApiKeyCredential(ContractFixture.Key), new OpenAIClientOptions
        {
            Endpoint = new Uri(Router.BaseUrl, "v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        });
        var listed = (await client.GetModelsAsync()).Value.Select(m => m.Id).ToArray();
        Assert.Contains("router/economy", listed);

        var failures = new List<string>();
        foreach (var id in listed)
        {
            try
            {
                var model = (await client.GetModelAsync(id)).Value;
                if (model.Id != id)
                {
                    failures.Add($"{id}: retrieved {model.Id}");
                }
            }
            catch (ClientResultException ex)
            {
                failures.Add($"{id}: HTTP {ex.Status} {ex.GetRawResponse()?.Content}");
            }
        }

        // README: GET /v1/models/{id} returns "one of them", the catalog's models plus the aliases.
        Assert.True(failures.Count == 0, "listed by GET /v1/models but not retrievable by GET /v1/models/{id}: " + string.Join("; ", failures));
    }

    [Theory]
    [InlineData("v1/models/router/standard", "router/standard")]
    [InlineData("v1/models/router%2Fstandard", "router/standard")]
    [InlineData("v1/models/SIM-LARGE", "sim-large")]
    public async Task A_model_is_retrieved_whether_its_slash_is_escaped_or_not(string path, string id)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ContractFixture.Key);
        using var response = await Router.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(id, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_model_that_is_not_listed_is_a_404_model_not_found()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/models/router%2F2");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ContractFixture.Key);
        using var response = await Router.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("model_not_found", (await TestJson.ErrorAsync(response))["code"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("GET", "v1/chat/completions", "POST")]
    [InlineData("DELETE", "v1/models/sim-small", "GET")]
    [InlineData("PATCH", "admin/tenants/acme", "GET, PUT")]
    public async Task A_known_path_with_another_method_is_a_405_naming_the_allowed_ones(string method, string path, string allow)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ContractFixture.Key);
        using var response = await Router.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(allow, string.Join(", ", response.Content.Headers.Allow));
        var error = await TestJson.ErrorAsync(response);
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal("method_not_allowed", error["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_unknown_path_is_still_a_404()
    {
        using var response = await Router.Http.GetAsync("v1/nothing-here");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("not_found", (await TestJson.ErrorAsync(response))["code"]!.GetValue<string>());
    }

    // Model ids have dots (gpt-4.1, gpt-4.1-mini, claude-3.5-…): the fallback's {*path:nonfile} does not match a last
    // segment with a dot, so routing answered on its own, a bare 404 with no body, instead of the promised JSON 405.
    [Theory]
    [InlineData("DELETE", "v1/models/gpt-4.1", "GET")]
    [InlineData("POST", "v1/models/azure%2Fgpt-4.1-mini", "GET")]
    public async Task A_wrong_method_on_a_model_id_with_a_dot_is_a_405_too(string method, string path, string allow)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ContractFixture.Key);
        using var response = await Router.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(allow, string.Join(", ", response.Content.Headers.Allow));
        Assert.Equal("method_not_allowed", (await TestJson.ErrorAsync(response))["code"]!.GetValue<string>());
    }

    // CONTRACT.md: errors are always JSON in OpenAI's shape. An unknown path whose last segment has a dot got an empty 404.
    [Theory]
    [InlineData("v1/chat/completions.json")]
    [InlineData("v1/models.json")]
    public async Task An_unknown_path_with_a_dot_is_a_json_404(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = TestJson.Body(TestJson.Chat("sim-small", "A dotted path")) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ContractFixture.Key);
        using var response = await Router.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("not_found", (await TestJson.ErrorAsync(response))["code"]!.GetValue<string>());
    }

    // A resource served for GET is served for HEAD (RFC 9110 9.1: a general-purpose server supports both); uptime monitors
    // probe /health with HEAD. The new 405 tells them GET only, so the router looks down.
    [Fact]
    public async Task Health_answers_head_as_get()
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, "health");
        using var response = await Router.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_providers_4xx_passed_through_still_carries_every_router_header()
    {
        fixture.Simulator.Model("sim-small").Script.Enqueue(new SimulatedFault.Status(422));

        using var response = await ChatAsync(TestJson.Chat("sim-small", "Parameters the provider will reject."));

        Assert.Equal((HttpStatusCode)422, response.StatusCode);
        AssertRoutedHeaders(response);
        Assert.Equal("0", response.Headers.GetValues("x-router-billed-usd").Single());
    }

    [Fact]
    public async Task A_loop_detected_refusal_carries_every_router_header()
    {
        var session = "contract-loop-" + Guid.NewGuid().ToString("N");
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 6 && refused is null; i++)
        {
            var response = await ChatAsync(TestJson.Chat("sim-small", "check the deployment status once more"), session: session);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
            }
            else
            {
                response.Dispose();
            }
        }

        Assert.NotNull(refused);
        using (refused)
        {
            Assert.Equal("loop_detected", (await TestJson.ErrorAsync(refused))["code"]!.GetValue<string>());
            AssertRoutedHeaders(refused);
            // README: every routed response carries -billed-usd too; a refusal bills nothing, and read no cache.
            Assert.Equal("0", refused.Headers.GetValues("x-router-billed-usd").Single());
            Assert.Equal("bypass", refused.Headers.GetValues("x-router-cache").Single());
        }
    }

    [Fact]
    public async Task A_budget_refusal_carries_every_router_header()
    {
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 6 && refused is null; i++)
        {
            var response = await ChatAsync(TestJson.Chat("sim-large", $"spend the whole budget, call {i}"), ContractFixture.BrokeKey);
            if (response.StatusCode == HttpStatusCode.PaymentRequired)
            {
                refused = response;
            }
            else
            {
                response.Dispose();
            }
        }

        Assert.NotNull(refused);
        using (refused)
        {
            Assert.Equal("budget_exceeded", (await TestJson.ErrorAsync(refused))["code"]!.GetValue<string>());
            AssertRoutedHeaders(refused);
            Assert.Equal("0", refused.Headers.GetValues("x-router-billed-usd").Single());
            Assert.Equal("0", refused.Headers.GetValues("x-router-fallbacks").Single());
        }
    }

    [Fact]
    public async Task A_stream_the_provider_fails_after_its_first_chunk_ends_with_an_error_event_not_done()
    {
        // The provider streams its first chunks, then an error payload and its own [DONE] (as vLLM ends a failed generation).
        fixture.Simulator.Model("sim-small").Script.Enqueue(new SimulatedFault.ErrorInStream(2));

        using var response = await ChatAsync(TestJson.Chat("sim-small", "Stream a story that the provider fails half way.", stream: true));
        var text = await response.Content.ReadAsStringAsync();

        // CONTRACT.md: "A stream that fails after its first chunk ends with an SSE `error` event, never with a fake [DONE]."
        // As relayed, it ends in data: [DONE], and the official .NET SDK reads it as a complete (truncated) answer.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"content\":\"Simulated\"", text, StringComparison.Ordinal);
        Assert.Contains("event: error\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("data: [DONE]", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_contracts_create_key_request_for_a_tenant_the_router_serves_is_a_201()
    {
        // CONTRACT.md: POST /admin/keys {"tenant": "acme", "name": "…"} -> 201 {"id", "key", "tenant", …}. Tenant acme is
        // being served (its configured key works), yet the router answers 400 "Tenant 'acme' does not exist".
        using (var served = await ChatAsync(TestJson.Chat("sim-small", "Is tenant acme served?")))
        {
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "admin/keys") { Content = TestJson.Body("""{"tenant":"acme","name":"ci"}""") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ContractFixture.AdminKey);
        using var response = await Router.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode} {text}");
        var document = JsonNode.Parse(text)!;
        SensitiveValues.Register(document["key"]!.GetValue<string>());
        Assert.Equal("acme", document["tenant"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(document["id"]!.GetValue<string>()));
    }
}

/// <summary>The same contract through the Functions app's HTTP triggers, invoked directly.</summary>
public sealed class ContractFunctionsTests : IAsyncLifetime
{
    private const string Key = "contract-functions-key-0001";
    private SimulatedProvider _simulator = null!;
    private FunctionsHost _host = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(_simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Audits:Enabled"] = "false";
        settings["Router:ApiKeys:0:Tenant"] = "acme";
        settings["Router:ApiKeys:0:Key"] = Key;
        _host = new FunctionsHost(settings);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    [Fact]
    public async Task ChatCompletions_function_passing_a_providers_4xx_through_carries_every_router_header()
    {
        _simulator.Model("sim-small").Script.Enqueue(new SimulatedFault.Status(422));
        var functions = _host.Get<HttpFunctions>();
        var context = _host.Request("POST", "/v1/chat/completions", TestJson.Chat("sim-small", "Functions: parameters the provider will reject."), Key);

        await FunctionsHost.CompleteAsync(context, await functions.ChatCompletions(context.Request));

        Assert.Equal(422, context.Response.StatusCode);
        var missing = ContractConformanceTests.RoutedHeaders.Where(h => !context.Response.Headers.ContainsKey(h)).ToArray();
        Assert.True(missing.Length == 0, $"HTTP 422 is missing {string.Join(", ", missing)}");
    }

    [Theory]
    [InlineData("router%2Feconomy", "router/economy")]
    [InlineData("router/premium", "router/premium")]
    [InlineData("sim-small", "sim-small")]
    public async Task Model_function_retrieves_a_listed_id_escaped_or_not(string routeValue, string id)
    {
        var functions = _host.Get<HttpFunctions>();
        var context = _host.Request("GET", "/v1/models/" + routeValue, apiKey: Key);

        var body = await FunctionsHost.CompleteAsync(context, await functions.Model(context.Request, routeValue));

        Assert.True(context.Response.StatusCode == 200, $"{context.Response.StatusCode}: {body}");
        Assert.Equal(id, JsonNode.Parse(body)!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task ChatCompletions_function_refuses_a_tier_alias_that_models_does_not_list()
    {
        var functions = _host.Get<HttpFunctions>();
        var models = _host.Request("GET", "/v1/models", apiKey: Key);
        var listed = await FunctionsHost.CompleteAsync(models, await functions.Models(models.Request));
        Assert.DoesNotContain("\"router/2\"", listed, StringComparison.Ordinal);

        var context = _host.Request("POST", "/v1/chat/completions", TestJson.Chat("router/2", "Functions: which tier answers this?"), Key);
        var body = await FunctionsHost.CompleteAsync(context, await functions.ChatCompletions(context.Request));

        Assert.True(context.Response.StatusCode == 400, $"{context.Response.StatusCode}: model 'router/2' was served as {context.Response.Headers["x-router-model"]}");
        Assert.Equal("model_not_found", JsonNode.Parse(body)!["error"]!["code"]!.GetValue<string>());
    }
}
