using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Routing;

/// <summary>/v1/route, tenant rules through the admin API, x-router-* headers and Azure OpenAI providers.</summary>
public sealed class RoutingEndpointTests : IAsyncLifetime
{
    private const string AdminKey = "admin-test-key";
    private const string TenantKey = "acme-test-key";
    private SimulatedProvider _simulator = null!;
    private RouterServerHost _router = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(_simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:AdminKey"] = AdminKey;
        settings["Router:Tenants:acme:Quality"] = "0.5";
        settings["Router:ApiKeys:0:Tenant"] = "acme";
        settings["Router:ApiKeys:0:Key"] = TenantKey;
        settings["Router:Providers:azure:Type"] = "AzureOpenAI";
        settings["Router:Providers:azure:Endpoint"] = _simulator.RootUrl.ToString();
        settings["Router:Providers:azure:ApiKey"] = "azure-test-key";
        settings["Router:Models:azure-mini:Provider"] = "azure";
        settings["Router:Models:azure-mini:UpstreamModel"] = "my-mini-deployment";
        settings["Router:Models:azure-mini:Tier"] = "Economy";
        settings["Router:Models:azure-mini:InputCostPerMillion"] = "0.5";
        settings["Router:Models:azure-mini:OutputCostPerMillion"] = "0.5";
        _router = await RouterServerHost.StartAsync(settings);
    }

    public async Task DisposeAsync()
    {
        await _router.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? json, string key)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = TestJson.Body(json);
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await _router.Http.SendAsync(request);
    }

    [Theory]
    [InlineData("v1/chat/completions", """{"model":"auto","messages":[{"role":"user","content":"hello TEXT"}]}""")]
    [InlineData("v1/route", """{"model":"auto","messages":[{"role":"user","content":"hello TEXT"}]}""")]
    [InlineData("admin/keys", """{"tenant":"acme","name":"TEXT"}""")]
    [InlineData("admin/tenants", """{"id":"TEXT"}""")]
    public async Task Text_that_is_not_valid_unicode_gets_a_400_in_openai_shape_and_changes_nothing(string path, string template)
    {
        var key = path.StartsWith("admin/", StringComparison.Ordinal) ? AdminKey : TenantKey;
        var before = _simulator.Received.Count;
        var keysBefore = await ReadAsync("admin/keys");
        var parts = template.Split("TEXT");
        byte[] notUtf8 = [.. System.Text.Encoding.UTF8.GetBytes(parts[0]), 0xFF, 0xFE, .. System.Text.Encoding.UTF8.GetBytes(parts[1])];
        byte[] loneSurrogate = System.Text.Encoding.UTF8.GetBytes(parts[0] + "\\ud800" + parts[1]);

        foreach (var body in new[] { notUtf8, loneSurrogate })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await _router.Http.SendAsync(request);

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = await TestJson.ErrorAsync(response);
            Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
            Assert.Equal("invalid_json", error["code"]!.GetValue<string>());
        }

        Assert.Equal(before, _simulator.Received.Count);
        Assert.Equal(keysBefore, await ReadAsync("admin/keys"));

        async Task<string> ReadAsync(string listPath)
        {
            using var list = await SendAsync(HttpMethod.Get, listPath, null, AdminKey);
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            return await list.Content.ReadAsStringAsync();
        }
    }

    [Fact]
    public async Task Tool_definitions_and_earlier_tool_calls_count_as_prompt_tokens()
    {
        var description = string.Join(' ', Enumerable.Repeat("Looks a customer record up by id and returns its fields.", 40));
        var tools = new JsonArray(new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject
            {
                ["name"] = "lookup",
                ["description"] = description,
                ["parameters"] = JsonNode.Parse("""{"type":"object","properties":{"id":{"type":"string"}}}"""),
            },
        }).ToJsonString();
        var arguments = JsonValue.Create(System.Text.Json.JsonSerializer.Serialize(new { query = new string('x', 4000) }))!.ToJsonString();
        string Body(string extra, string history = "") =>
            $$$"""{"model":"auto"{{{extra}}},"messages":[{"role":"user","content":"Find the customer with id 42."}{{{history}}}]}""";
        async Task<int> PromptTokensAsync(string json)
        {
            using var response = await SendAsync(HttpMethod.Post, "v1/route", json, TenantKey);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["prompt_tokens"]!.GetValue<int>();
        }

        var plain = await PromptTokensAsync(Body(""));
        var withTools = await PromptTokensAsync(Body(",\"tools\":" + tools));
        var call = new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = null,
            ["tool_calls"] = new JsonArray(new JsonObject
            {
                ["id"] = "c1", ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = "search", ["arguments"] = JsonNode.Parse(arguments) },
            }),
        };
        var withCalls = await PromptTokensAsync(Body("", "," + call.ToJsonString() + ",{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"none\"}"));

        // About four bytes of JSON a token: the 2,400-character description alone is some 500 tokens.
        Assert.InRange(withTools - plain, tools.Length / 5, tools.Length / 3);
        Assert.True(withCalls - plain > 4000 / 5, $"{withCalls} vs {plain}");
    }

    [Fact]
    public async Task Route_explains_the_decision_without_calling_a_model()
    {
        var before = _simulator.Received.Count;

        using var response = await SendAsync(HttpMethod.Post, "v1/route", TestJson.Chat("auto", "Write a Python function that merges two sorted lists."), TenantKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.StartsWith("req_", body["request_id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("coding", body["task"]!.GetValue<string>());
        Assert.InRange(body["complexity"]!.GetValue<int>(), 1, 10);
        Assert.Equal("none", body["risk"]!["level"]!.GetValue<string>());
        Assert.True(body["prompt_tokens"]!.GetValue<int>() > 5);
        Assert.Equal("miss", body["cache"]!["status"]!.GetValue<string>());
        var decision = body["decision"]!;
        Assert.Contains(decision["tier"]!.GetValue<string>(), new[] { "economy", "standard", "premium" });
        Assert.Equal(decision["model"]!.GetValue<string>(), decision["candidates"]![0]!.GetValue<string>());
        Assert.Contains(decision["reasons"]!.AsArray(), r => r!.GetValue<string>().StartsWith("table:", StringComparison.Ordinal));
        Assert.True(body["baseline_cost_usd"]!.GetValue<decimal>() >= body["estimated_cost_usd"]!.GetValue<decimal>());
        Assert.Equal(before, _simulator.Received.Count);
    }

    [Fact]
    public async Task Every_routed_response_carries_the_router_headers()
    {
        using var response = await SendAsync(HttpMethod.Post, "v1/chat/completions", TestJson.Chat("auto", "hello there"), TenantKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        foreach (var header in new[] { "x-router-request-id", "x-router-model", "x-router-tier", "x-router-task", "x-router-complexity", "x-router-risk", "x-router-cache", "x-router-fallbacks", "x-router-cost-usd", "x-router-savings-usd" })
        {
            Assert.True(response.Headers.Contains(header), $"missing {header}");
        }

        var cost = decimal.Parse(response.Headers.GetValues("x-router-cost-usd").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var savings = decimal.Parse(response.Headers.GetValues("x-router-savings-usd").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(cost > 0);
        Assert.True(savings >= 0);
    }

    [Fact]
    public async Task Rules_set_through_the_admin_api_take_effect_and_are_listed_in_the_decision()
    {
        const string Rules = """
            [{"name":"medical-premium","when":{"risk_categories":["medical"]},"then":{"min_tier":"premium"}},
             {"name":"cheap-sessions","when":{"session_prefix":"batch-"},"then":{"cap_complexity":1,"max_tier":"economy"}}]
            """;
        using (var put = await SendAsync(HttpMethod.Put, "admin/tenants/acme/rules", Rules, AdminKey))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        using var medical = await SendAsync(HttpMethod.Post, "v1/route", TestJson.Chat("auto", "What are the common side effects of ibuprofen?"), TenantKey);
        var medicalBody = JsonNode.Parse(await medical.Content.ReadAsStringAsync())!;
        Assert.Equal("premium", medicalBody["decision"]!["tier"]!.GetValue<string>());
        Assert.Contains(medicalBody["decision"]!["rules_fired"]!.AsArray(), r => r!.GetValue<string>() == "medical-premium");

        using var batchRequest = new HttpRequestMessage(HttpMethod.Post, "v1/route") { Content = TestJson.Body(TestJson.Chat("auto", "Prove that there are infinitely many primes, step by step, rigorously.")) };
        batchRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TenantKey);
        batchRequest.Headers.Add("x-session-id", "batch-2026-11");
        using var batch = await _router.Http.SendAsync(batchRequest);
        var batchBody = JsonNode.Parse(await batch.Content.ReadAsStringAsync())!;
        Assert.Equal("economy", batchBody["decision"]!["tier"]!.GetValue<string>());
        Assert.Contains(batchBody["decision"]!["rules_fired"]!.AsArray(), r => r!.GetValue<string>() == "cheap-sessions");

        using var get = await SendAsync(HttpMethod.Get, "admin/tenants/acme/rules", null, AdminKey);
        var document = JsonNode.Parse(await get.Content.ReadAsStringAsync())!;
        Assert.Equal(2, document["rules"]!.AsArray().Count);

        using (var clear = await SendAsync(HttpMethod.Put, "admin/tenants/acme/rules", "[]", AdminKey))
        {
            Assert.Equal(HttpStatusCode.OK, clear.StatusCode);
        }
    }

    [Theory]
    [InlineData("admin/tenants/nobody/rules", "[{\"name\":\"x\",\"then\":{\"min_tier\":\"best\"}}]")]
    [InlineData("admin/tenants/nobody/rules", "[{\"name\":")]
    [InlineData("admin/tenants/nobody/rules", "\"rules\"")]
    [InlineData("admin/tenants/nobody", "{\"quality\":")]
    [InlineData("admin/tenants/nobody/quality", "{\"quality\":")]
    public async Task A_change_to_an_unknown_tenant_is_a_404_whatever_its_body(string path, string body)
    {
        using var response = await SendAsync(HttpMethod.Put, path, body, AdminKey);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("not_found", error["code"]!.GetValue<string>());
        Assert.Contains("'nobody'", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_rule_set_is_a_400_listing_every_error_and_changes_nothing()
    {
        const string Bad = """[{"when":{"task":"cooking"},"then":{"min_tier":"platinum"}},{"then":{"pin_model":"nope"}}]""";

        using var response = await SendAsync(HttpMethod.Put, "admin/tenants/acme/rules", Bad, AdminKey);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = (await TestJson.ErrorAsync(response))["message"]!.GetValue<string>();
        Assert.Contains("3 errors", message, StringComparison.Ordinal);
        Assert.Contains("rules[0].when.task[0]", message, StringComparison.Ordinal);
        Assert.Contains("rules[0].then.min_tier", message, StringComparison.Ordinal);
        Assert.Contains("rules[1].then.pin_model", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rule_tier_given_as_a_number_or_a_list_is_a_400_and_changes_nothing()
    {
        const string Bad = """[{"name":"numeric","then":{"min_tier":"2"}},{"name":"list","then":{"max_tier":"economy,premium"}}]""";

        using var response = await SendAsync(HttpMethod.Put, "admin/tenants/acme/rules", Bad, AdminKey);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = (await TestJson.ErrorAsync(response))["message"]!.GetValue<string>();
        Assert.Contains("rules[0].then.min_tier: '2' is not economy, standard or premium", message, StringComparison.Ordinal);
        Assert.Contains("rules[1].then.max_tier: 'economy,premium' is not economy, standard or premium", message, StringComparison.Ordinal);
        using var get = await SendAsync(HttpMethod.Get, "admin/tenants/acme/rules", null, AdminKey);
        Assert.DoesNotContain("numeric", await get.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_server_serves_the_admin_api_under_manage_too_as_the_functions_app_does()
    {
        using var viaAdmin = await SendAsync(HttpMethod.Get, "admin/tenants/acme", null, AdminKey);
        using var viaManage = await SendAsync(HttpMethod.Get, "manage/tenants/acme", null, AdminKey);
        using var tenantKey = await SendAsync(HttpMethod.Get, "manage/tenants/acme", null, TenantKey);

        Assert.Equal(HttpStatusCode.OK, viaManage.StatusCode);
        Assert.Equal(await viaAdmin.Content.ReadAsStringAsync(), await viaManage.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, tenantKey.StatusCode);
    }

    [Fact]
    public async Task Admin_endpoints_need_the_admin_key()
    {
        using var response = await SendAsync(HttpMethod.Get, "admin/tenants/acme/rules", null, TenantKey);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Azure_openai_providers_are_called_on_deployment_urls_with_their_api_key()
    {
        using var response = await SendAsync(HttpMethod.Post, "v1/chat/completions", TestJson.Chat("azure-mini", "hello azure"), TenantKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = _simulator.Received.Last(r => r.Model == "my-mini-deployment");
        Assert.StartsWith("/openai/deployments/my-mini-deployment/chat/completions?api-version=", received.PathAndQuery, StringComparison.Ordinal);
        Assert.Equal("azure-test-key", received.Headers["api-key"]);
        Assert.False(received.Headers.ContainsKey("authorization"));
    }
}
