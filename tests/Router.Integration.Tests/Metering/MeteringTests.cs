using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Router.Integration.Tests.Storage;
using Router.Testing.Proxy;
using Router.Testing.Simulator;
using Xunit.Abstractions;

namespace Router.Integration.Tests.Metering;

/// <summary>Keys, exactly-once metering, budgets, limits and the loop guard, on Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class MeteringTests(AzuriteFixture azurite, ITestOutputHelper output) : IAsyncLifetime
{
    private SimulatedProvider _simulator = null!;

    public async Task InitializeAsync() => _simulator = await SimulatedProvider.StartAsync();

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    [Fact]
    public async Task Every_request_is_metered_exactly_once_despite_provider_failures_and_writes_that_time_out_after_commit()
    {
        var tableEndpoint = azurite.Azurite.ConnectionString.Split(';').Single(p => p.StartsWith("TableEndpoint=", StringComparison.Ordinal))["TableEndpoint=".Length..];
        await using var proxy = await StorageFaultProxy.StartAsync(new Uri(tableEndpoint));
        proxy.Matches = request => Microsoft.AspNetCore.Http.HttpMethods.IsPost(request.Method) && request.Path.Value!.Contains("usage", StringComparison.Ordinal);
        var settings = MeteringHost.Settings(_simulator, proxy.Rewrite(azurite.Azurite.ConnectionString, "TableEndpoint"));
        settings["Router:Audits:Enabled"] = "false";

        // The prompts differ only by a number: the runaway-agent guard would rightly refuse some of them.
        settings["Router:LoopGuard:MaxRepeats"] = "10000";
        await using var router = await RouterServerHost.StartAsync(settings);
        await MeteringHost.CreateTenantAsync(router, "exact");
        var (_, key) = await MeteringHost.CreateKeyAsync(router, "exact");

        _simulator.Model("sim-small").FailureRate = 0.20;
        // Lost answers come back at once as 500 OperationTimedOut (outcome unknown), so every other table call keeps the
        // default network timeout: a slow answer on a loaded machine is not mistaken for a lost one.
        proxy.LostAnswer = LostAnswer.ServerTimeout;
        proxy.CommitThenTimeoutRate = 0.20;
        var statuses = new ConcurrentBag<HttpStatusCode>();
        var refusals = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 2000), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            using var response = await MeteringHost.ChatAsync(router, key, TestJson.Chat("router/economy", $"metered request number {i}"));
            statuses.Add(response.StatusCode);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                refusals.Add($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(CancellationToken.None)}");
            }
        });
        proxy.CommitThenTimeoutRate = 0;

        var succeeded = statuses.Count(s => s == HttpStatusCode.OK);
        var table = new TableClient(azurite.Azurite.ConnectionString, settings["Router:Storage:TablePrefix"] + "usage");

        // A row is written just after its answer goes out, so the last ones (a lost answer retried) may still be on their
        // way when the last client has its answer: the table is read until it holds them all, or for at most 30 s.
        var rows = await table.QueryAsync<TableEntity>().ToListAsync();
        for (var waited = 0; rows.Count < 2000 && waited < 300; waited++)
        {
            await Task.Delay(100);
            rows = await table.QueryAsync<TableEntity>().ToListAsync();
        }

        var usage = await MeteringHost.UsageAsync(router, key);
        output.WriteLine($"{succeeded} of 2000 succeeded; {proxy.Swallowed} usage writes timed out after commit; {rows.Count} rows; provider answered {_simulator.Answered()} times");
        foreach (var refusal in refusals)
        {
            output.WriteLine(refusal);
        }

        Assert.True(proxy.Swallowed > 50, "the fault proxy did not swallow enough writes to test anything");
        Assert.Equal(2000, rows.Count);
        Assert.Equal(2000, rows.Select(r => r.RowKey).Distinct().Count());
        Assert.Equal(succeeded, rows.Count(r => r.GetString("Outcome") == "success"));
        Assert.Equal(2000, usage["totals"]!["requests"]!.GetValue<long>());

        // Every answer the provider gave belongs to a request the router billed as a success, and every success was
        // answered. (A connection that breaks after the provider has answered makes the router fail over, so one
        // request can be answered twice upstream; it is still billed once.)
        // Answers without a request id are not this router's chat calls (it sends one on every attempt); they are
        // reported, not matched.
        var answered = _simulator.AnsweredRequestIds();
        var answeredIds = answered.Where(id => id.Length > 0).ToList();
        var successIds = rows.Where(r => r.GetString("Outcome") == "success").Select(r => r.RowKey).ToHashSet(StringComparer.Ordinal);
        output.WriteLine($"{answeredIds.Count - answeredIds.Distinct().Count()} requests were answered twice upstream; {answered.Count - answeredIds.Count} answers carried no request id");
        foreach (var stray in _simulator.Received.Where(r => !r.Headers.ContainsKey("x-request-id")).Take(3))
        {
            output.WriteLine($"received without a request id: {stray.PathAndQuery} user-agent '{stray.Headers.GetValueOrDefault("user-agent")}' {stray.Body[..Math.Min(stray.Body.Length, 200)]}");
        }

        Assert.True(successIds.SetEquals(answeredIds), "answered but not billed as a success: " + string.Join(", ", answeredIds.Except(successIds)) + "; billed but never answered: " + string.Join(", ", successIds.Except(answeredIds)));
        var rowCost = rows.Sum(r => decimal.Parse(r.GetString("CostUsd"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(rowCost, usage["totals"]!["cost_usd"]!.GetValue<decimal>());
        var rowTokens = rows.Sum(r => (long)(r.GetInt32("CompletionTokens") ?? 0));
        Assert.Equal(rowTokens, usage["totals"]!["completion_tokens"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_one_dollar_budget_under_200_parallel_calls_stops_spending_at_the_budget()
    {
        var settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        settings["Router:Models:sim-small:InputCostPerMillion"] = "1000";
        settings["Router:Models:sim-small:OutputCostPerMillion"] = "1000";
        await using var router = await RouterServerHost.StartAsync(settings);
        await MeteringHost.CreateTenantAsync(router, "budget", ""","daily_budget_usd":1""");
        var (_, key) = await MeteringHost.CreateKeyAsync(router, "budget");

        var statuses = new ConcurrentBag<HttpStatusCode>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 200 }, async (i, _) =>
        {
            var body = $$"""{"model":"sim-small","max_tokens":40,"messages":[{"role":"user","content":"{{SensitiveValues.Register($"spend some money please, call {i:000}")}}"}]}""";
            using var response = await MeteringHost.ChatAsync(router, key, body);
            statuses.Add(response.StatusCode);
        });

        var usage = await MeteringHost.UsageOnceRecordedAsync(router, key, 200);

        var spent = usage["totals"]!["billed_usd"]!.GetValue<decimal>();
        var requests = usage["totals"]!["requests"]!.GetValue<long>();
        var succeeded = statuses.Count(s => s == HttpStatusCode.OK);
        var refused = statuses.Count(s => s == HttpStatusCode.PaymentRequired);
        var largest = 0.06m; // one call: about 30 tokens at $1,000 per million, reserved as prompt + max_tokens
        output.WriteLine($"{succeeded} answered, {refused} refused with 402, spend ${spent} over {requests} requests");
        Assert.Equal(200, succeeded + refused);
        Assert.Equal(200, requests);
        Assert.True(refused > 0, "the budget never stopped anything");
        Assert.True(spent <= 1m + largest, $"spent {spent}");
        Assert.True(spent >= 1m, $"402s were sent while only {spent} of the $1 budget was spent");
    }

    [Fact]
    public async Task Cache_hits_pay_their_per_call_fee_from_the_budget_and_stop_at_it()
    {
        var settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        settings["Router:Models:sim-small:InputCostPerMillion"] = "1000";
        settings["Router:Models:sim-small:OutputCostPerMillion"] = "1000";
        settings["Router:LoopGuard:MaxRepeats"] = "10000";
        await using var router = await RouterServerHost.StartAsync(settings);
        await MeteringHost.CreateTenantAsync(router, "fees", ""","daily_budget_usd":0.2,"per_call_fee_usd":0.01""");
        var (_, key) = await MeteringHost.CreateKeyAsync(router, "fees");
        var body = """{"model":"sim-small","max_tokens":20,"messages":[{"role":"user","content":"Name one colour of the rainbow."}]}""";

        var outcomes = new List<(HttpStatusCode Status, string Cache)>();
        for (var i = 0; i < 40; i++)
        {
            using var response = await MeteringHost.ChatAsync(router, key, body);
            outcomes.Add((response.StatusCode, response.Headers.TryGetValues("x-router-cache", out var cache) ? cache.Single() : "-"));
            if (response.StatusCode == HttpStatusCode.PaymentRequired)
            {
                Assert.False(response.Headers.Contains("x-router-similarity"));
            }
        }

        var usage = await MeteringHost.UsageOnceRecordedAsync(router, key, 40);
        var billed = usage["totals"]!["billed_usd"]!.GetValue<decimal>();
        output.WriteLine(string.Join(", ", outcomes.Select(o => $"{(int)o.Status}/{o.Cache}")) + $"; billed ${billed}");

        Assert.Equal((HttpStatusCode.OK, "miss"), outcomes[0]);
        Assert.Contains((HttpStatusCode.OK, "exact"), outcomes);
        // The fees of the hits filled the budget: the hits stopped at it instead of going on for free.
        var firstRefusal = outcomes.FindIndex(o => o.Status == HttpStatusCode.PaymentRequired);
        Assert.True(firstRefusal > 1, "no cache hit was ever refused");
        Assert.All(outcomes.Skip(firstRefusal), o => Assert.Equal(HttpStatusCode.PaymentRequired, o.Status));
        // A hit refused for its fee was not served from the cache: its header says so as its usage row does, and only
        // the hits that were served count as hits.
        Assert.All(outcomes.Skip(firstRefusal), o => Assert.Equal("bypass", o.Cache));
        Assert.Equal(outcomes.Count(o => o.Cache == "exact"), usage["totals"]!["cache_hits"]!["exact"]!.GetValue<long>());
        // As for any request, the last one admitted may cross the cap by its own charge (here one fee), no more.
        Assert.InRange(billed, 0.19m, 0.21m);
    }

    [Fact]
    public async Task A_rotated_key_keeps_its_budget_and_an_expired_key_is_not_rotated()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        settings["Router:Models:sim-small:InputCostPerMillion"] = "1000";
        settings["Router:Models:sim-small:OutputCostPerMillion"] = "1000";
        settings["Router:LoopGuard:MaxRepeats"] = "10000";
        await using var router = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<TimeProvider>(time));
        await MeteringHost.CreateTenantAsync(router, "rotor");
        var expires = time.GetUtcNow().AddHours(1).ToString("o", System.Globalization.CultureInfo.InvariantCulture);
        var (id, key) = await MeteringHost.CreateKeyAsync(router, "rotor", $$""","daily_budget_usd":0.05,"expires_at":"{{expires}}" """);

        HttpStatusCode last = default;
        for (var i = 0; i < 20 && last != HttpStatusCode.PaymentRequired; i++)
        {
            using var response = await MeteringHost.ChatAsync(router, key, $$"""{"model":"sim-small","max_tokens":20,"messages":[{"role":"user","content":"spend call {{i}}"}]}""");
            last = response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.PaymentRequired, last);
        using var rotated = await MeteringHost.AdminAsync(router, HttpMethod.Post, $"admin/keys/{id}/rotate");
        Assert.Equal(HttpStatusCode.Created, rotated.StatusCode);
        var document = System.Text.Json.Nodes.JsonNode.Parse(await rotated.Content.ReadAsStringAsync())!;
        var newKey = SensitiveValues.Register(document["key"]!.GetValue<string>());
        using var afterRotation = await MeteringHost.ChatAsync(router, newKey, """{"model":"sim-small","max_tokens":20,"messages":[{"role":"user","content":"a fresh allowance?"}]}""");

        Assert.Equal(HttpStatusCode.PaymentRequired, afterRotation.StatusCode);
        Assert.Equal(expires[..19], document["expires_at"]!.ToString()[..19]);

        time.Advance(TimeSpan.FromHours(2));
        using var expired = await MeteringHost.AdminAsync(router, HttpMethod.Post, $"admin/keys/{document["id"]!.GetValue<string>()}/rotate");
        var error = await TestJson.ErrorAsync(expired);
        Assert.Equal(HttpStatusCode.BadRequest, expired.StatusCode);
        Assert.Equal("key_expired", error["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Clients_that_hang_up_before_the_answer_release_their_budget_reservation()
    {
        var settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        settings["Router:Models:sim-small:InputCostPerMillion"] = "1000";
        settings["Router:Models:sim-small:OutputCostPerMillion"] = "1000";
        await using var router = await RouterServerHost.StartAsync(settings);
        // Each call reserves about $0.11 (prompt + max_tokens at $1,000 per million), so one reservation that is never
        // settled leaves less than a call's worth of a $0.20 budget.
        await MeteringHost.CreateTenantAsync(router, "hangups", ""","daily_budget_usd":0.2""");
        var (_, key) = await MeteringHost.CreateKeyAsync(router, "hangups");
        using (var warm = await MeteringHost.ChatAsync(router, key, """{"model":"sim-small","max_tokens":5,"messages":[{"role":"user","content":"warm up the path"}]}"""))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);   // a cold first request can be cut before it is even routed
        }

        _simulator.Model("sim-small").Latency = TimeSpan.FromSeconds(30);

        for (var i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
            {
                Content = TestJson.Body($$"""{"model":"sim-small","max_tokens":100,"stream":{{(i == 1 ? "true" : "false")}},"messages":[{"role":"user","content":"a call abandoned early, number {{i}}"}]}"""),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            await MeteringHost.HangUpOnceReceivedAsync(router, _simulator, "sim-small", request);
        }

        var usage = await MeteringHost.UsageOnceRecordedAsync(router, key, 4);

        _simulator.Model("sim-small").Latency = TimeSpan.Zero;
        using var after = await MeteringHost.ChatAsync(router, key, """{"model":"sim-small","max_tokens":100,"messages":[{"role":"user","content":"a call that waits for its answer"}]}""");

        Assert.Equal(4, usage["totals"]!["requests"]!.GetValue<long>());   // the warm-up and the three abandoned calls
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task A_client_that_leaves_mid_stream_is_billed_for_what_was_streamed_not_for_a_guess()
    {
        var settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        await using var router = await RouterServerHost.StartAsync(settings);
        await MeteringHost.CreateTenantAsync(router, "leaver");
        var (_, key) = await MeteringHost.CreateKeyAsync(router, "leaver");
        var words = string.Join(' ', Enumerable.Range(0, 1500).Select(i => $"word{i}"));
        var resume = new TaskCompletionSource();
        var behavior = _simulator.Model("sim-small");
        behavior.Responder = _ => words;
        behavior.PauseAfterFirstChunk = resume.Task;
        behavior.ChunkDelay = TimeSpan.FromMilliseconds(1);

        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = TestJson.Body("""{"model":"sim-small","stream":true,"max_tokens":4000,"messages":[{"role":"user","content":"Say hi."}]}"""),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        using (var response = await router.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            resume.SetResult();
            using var stream = await response.Content.ReadAsStreamAsync();
            var read = 0;
            var buffer = new byte[8192];
            while (read < 40_000)
            {
                var n = await stream.ReadAsync(buffer);
                Assert.NotEqual(0, n);
                read += n;
            }
        }   // the client leaves here, mid-stream

        var usage = await MeteringHost.UsageOnceRecordedAsync(router, key, 1);

        var completion = usage["totals"]!["completion_tokens"]!.GetValue<long>();
        output.WriteLine($"billed {completion} completion tokens for a stream left after 40 KB");
        // 40 KB of chunks carry a few hundred words at least; the analysis's guess for "Say hi." is a few dozen tokens.
        Assert.InRange(completion, 200, 4000);
    }

    [Fact]
    public async Task A_stream_the_provider_breaks_mid_way_is_billed_its_tokens_at_cost_without_the_fee_and_counted_as_an_error()
    {
        var settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        settings["Router:Models:sim-small:InputCostPerMillion"] = "1000";
        settings["Router:Models:sim-small:OutputCostPerMillion"] = "1000";
        await using var router = await RouterServerHost.StartAsync(settings);
        await MeteringHost.CreateTenantAsync(router, "broken", ""","per_call_fee_usd":0.01,"markup_percent":10""");
        var (_, key) = await MeteringHost.CreateKeyAsync(router, "broken");
        var behavior = _simulator.Model("sim-small");
        behavior.Responder = _ => string.Join(' ', Enumerable.Range(0, 40).Select(i => $"word{i}"));

        // A stream the provider cuts off after content reached the client: the router ends it with an error event.
        behavior.Script.Enqueue(new SimulatedFault.CutStream(6));
        using (var cut = await MeteringHost.ChatAsync(router, key, """{"model":"sim-small","stream":true,"messages":[{"role":"user","content":"Count for me, stream 0."}]}"""))
        {
            var text = await cut.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, cut.StatusCode);
            Assert.Contains("word1", text, StringComparison.Ordinal);
            Assert.Contains("event: error", text, StringComparison.Ordinal);
            Assert.DoesNotContain("[DONE]", text, StringComparison.Ordinal);
        }

        // One the provider ends with an error payload and its own [DONE] (as vLLM ends a generation that failed): the
        // router holds that [DONE] back, with the cost comment it would have added, and ends the stream with an error event.
        behavior.Script.Enqueue(new SimulatedFault.ErrorInStream(6));
        using (var failed = await MeteringHost.ChatAsync(router, key, """{"model":"sim-small","stream":true,"messages":[{"role":"user","content":"Count for me, stream 1."}]}"""))
        {
            var text = await failed.Content.ReadAsStringAsync();
            Assert.Contains("word1", text, StringComparison.Ordinal);
            Assert.Contains("generation_failed", text, StringComparison.Ordinal);
            Assert.EndsWith("\"code\":\"upstream_error\",\"param\":null}}\n\n", text, StringComparison.Ordinal);
            Assert.Contains("event: error\n", text, StringComparison.Ordinal);
            Assert.DoesNotContain("[DONE]", text, StringComparison.Ordinal);
            Assert.DoesNotContain("x-router-billed-usd=", text, StringComparison.Ordinal);
        }

        var broken = (await MeteringHost.UsageOnceRecordedAsync(router, key, 2))["totals"]!;
        var brokenCost = broken["cost_usd"]!.GetValue<decimal>();
        output.WriteLine($"broken streams: {broken.ToJsonString()}");
        Assert.Equal(2, broken["errors"]!.GetValue<long>());
        Assert.True(broken["completion_tokens"]!.GetValue<long>() > 0, "the tokens the provider produced were not counted");
        Assert.True(brokenCost > 0, "the provider's cost of the tokens it produced was not passed through");
        Assert.Equal(0m, broken["fees_usd"]!.GetValue<decimal>());
        Assert.Equal(brokenCost, broken["billed_usd"]!.GetValue<decimal>());

        // A stream that completes is billed its fee and markup on top of its cost, as before.
        using (var complete = await MeteringHost.ChatAsync(router, key, """{"model":"sim-small","stream":true,"messages":[{"role":"user","content":"Count for me, to the end."}]}"""))
        {
            Assert.Contains("[DONE]", await complete.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var all = (await MeteringHost.UsageOnceRecordedAsync(router, key, 3))["totals"]!;
        var completeCost = all["cost_usd"]!.GetValue<decimal>() - brokenCost;
        Assert.Equal(2, all["errors"]!.GetValue<long>());
        Assert.Equal(0.01m + (completeCost * 0.10m), all["fees_usd"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task A_revoked_key_stops_working_on_every_instance_within_60_seconds()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        await using var a = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<TimeProvider>(time));
        await using var b = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<TimeProvider>(time));
        await MeteringHost.CreateTenantAsync(a, "revoke");
        var (id, key) = await MeteringHost.CreateKeyAsync(a, "revoke");
        using (var before = await MeteringHost.ChatAsync(b, key, TestJson.Chat("sim-small", "before the revocation")))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using (var revoke = await MeteringHost.AdminAsync(a, HttpMethod.Delete, $"admin/keys/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        using (var onA = await MeteringHost.ChatAsync(a, key, TestJson.Chat("sim-small", "right after, same instance")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, onA.StatusCode);
        }

        time.Advance(TimeSpan.FromSeconds(31));
        using var onB = await MeteringHost.ChatAsync(b, key, TestJson.Chat("sim-small", "thirty-one seconds later"));
        Assert.Equal(HttpStatusCode.Unauthorized, onB.StatusCode);
        Assert.Equal("invalid_api_key", (await TestJson.ErrorAsync(onB))["code"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("admin/keys", "{\"tenant\":\"bad id!\"}", "'tenant' must be letters")]
    [InlineData("admin/keys", "{\"name\":\"no tenant\"}", "'tenant' is required")]
    [InlineData("admin/keys", "{\"tenant\":\"limits\",\"daily_budget_usd\":-5}", "daily_budget_usd")]
    [InlineData("admin/keys", "{\"tenant\":\"limits\",\"requests_per_minute\":\"many\"}", "'requests_per_minute' must be an integer")]
    [InlineData("admin/keys", "{\"tenant\":\"limits\",\"colour\":\"blue\"}", "'colour' is not a known field")]
    [InlineData("admin/keys", "{not json", "not valid JSON")]
    [InlineData("admin/tenants", "{\"id\":\"bad id!\"}", "'id' is required")]
    [InlineData("admin/tenants", "{\"id\":\"neg\",\"monthly_budget_usd\":-1,\"markup_percent\":-3}", "'monthly_budget_usd'")]
    public async Task Malformed_admin_bodies_negative_budgets_and_unknown_tenants_are_400_with_clear_messages(string path, string body, string fragment)
    {
        await using var router = await RouterServerHost.StartAsync(MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString));
        await MeteringHost.CreateTenantAsync(router, "limits");

        using var response = await MeteringHost.AdminAsync(router, HttpMethod.Post, path, body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await TestJson.ErrorAsync(response);
        Assert.Contains(fragment, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(error["code"]?.GetValue<string>()), $"no code: {error.ToJsonString()}");
    }

    [Fact]
    public async Task A_key_for_a_tenant_not_registered_registers_it_with_defaults_and_an_existing_tenant_is_left_as_it_is()
    {
        await using var router = await RouterServerHost.StartAsync(MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString));
        await MeteringHost.CreateTenantAsync(router, "kept", ""","daily_budget_usd":7,"per_call_fee_usd":0.002""");

        var (_, newKey) = await MeteringHost.CreateKeyAsync(router, "fresh");
        await MeteringHost.CreateKeyAsync(router, "kept");

        using (var fresh = await MeteringHost.AdminAsync(router, HttpMethod.Get, "admin/tenants/fresh"))
        {
            Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
            var tenant = JsonNode.Parse(await fresh.Content.ReadAsStringAsync())!;
            Assert.Null(tenant["daily_budget_usd"]);
            Assert.Equal(0m, tenant["per_call_fee_usd"]!.GetValue<decimal>());
        }

        using (var again = await MeteringHost.AdminAsync(router, HttpMethod.Post, "admin/tenants", """{"id":"fresh"}"""))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        }

        using (var kept = await MeteringHost.AdminAsync(router, HttpMethod.Get, "admin/tenants/kept"))
        {
            var tenant = JsonNode.Parse(await kept.Content.ReadAsStringAsync())!;
            Assert.Equal(7m, tenant["daily_budget_usd"]!.GetValue<decimal>());
            Assert.Equal(0.002m, tenant["per_call_fee_usd"]!.GetValue<decimal>());
        }

        using var served = await MeteringHost.ChatAsync(router, newKey, TestJson.Chat("sim-small", "A key for a tenant made on the way."));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Theory]
    [InlineData("{\"daily_budget\":5}", "daily_budget", "'daily_budget' is not a known field")]
    [InlineData("{\"audit_opt_out\":\"yes\"}", "audit_opt_out", "'audit_opt_out' must be true or false")]
    [InlineData("{\"quality\":\"high\"}", "quality", "'quality' must be a number")]
    public async Task Tenant_settings_that_are_unknown_or_mistyped_are_a_400_naming_the_field_and_the_settings_there_are(string body, string param, string fragment)
    {
        await using var router = await RouterServerHost.StartAsync(MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString));
        await MeteringHost.CreateTenantAsync(router, "settings", ""","audit_opt_out":true""");

        using var response = await MeteringHost.AdminAsync(router, HttpMethod.Put, "admin/tenants/settings", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await TestJson.ErrorAsync(response);
        var message = error["message"]!.GetValue<string>();
        Assert.Contains(fragment, message, StringComparison.Ordinal);
        Assert.Equal(param, error["param"]!.GetValue<string>());
        if (fragment.Contains("not a known field", StringComparison.Ordinal))
        {
            // The list names every setting, not only those this body happened to send.
            Assert.Contains("daily_budget_usd", message, StringComparison.Ordinal);
            Assert.Contains("requests_per_minute", message, StringComparison.Ordinal);
        }

        // A refused update changes nothing: the opt-out set at creation still stands.
        using var unchanged = await MeteringHost.AdminAsync(router, HttpMethod.Get, "admin/tenants/settings");
        Assert.Contains("\"audit_opt_out\":true", await unchanged.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_agent_repeating_itself_gets_loop_detected_after_the_configured_repeats()
    {
        var settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        settings["Router:LoopGuard:MaxRepeats"] = "5";
        await using var router = await RouterServerHost.StartAsync(settings);
        await MeteringHost.CreateTenantAsync(router, "agents");
        var (_, key) = await MeteringHost.CreateKeyAsync(router, "agents");

        var codes = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 20; i++)
        {
            var response = await MeteringHost.ChatAsync(router, key, TestJson.Chat("sim-small", "check the build status again"), session: "agent-42");
            codes.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused ??= response;
            }
        }

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.OK, 5), codes.Take(5));
        Assert.All(codes.Skip(5), c => Assert.Equal(HttpStatusCode.TooManyRequests, c));
        Assert.NotNull(refused!.Headers.RetryAfter);
        // OpenAI's SDKs retry 429s by default, sleeping through Retry-After; this header makes them surface it instead.
        Assert.Equal("false", refused.Headers.GetValues("x-should-retry").Single());
        Assert.Equal("loop_detected", (await TestJson.ErrorAsync(refused))["code"]!.GetValue<string>());
        using var otherSession = await MeteringHost.ChatAsync(router, key, TestJson.Chat("sim-small", "check the build status again"), session: "agent-43");
        Assert.Equal(HttpStatusCode.OK, otherSession.StatusCode);
    }

    [Fact]
    public async Task Requests_per_minute_are_limited_per_key_with_retry_after()
    {
        await using var router = await RouterServerHost.StartAsync(MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString));
        await MeteringHost.CreateTenantAsync(router, "rpm");
        var (_, key) = await MeteringHost.CreateKeyAsync(router, "rpm", ""","requests_per_minute":3""");

        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await MeteringHost.ChatAsync(router, key, TestJson.Chat("sim-small", $"rate limited call {i}"));
            codes.Add(response.StatusCode);
            if (i == 3)
            {
                Assert.NotNull(response.Headers.RetryAfter);
                Assert.Equal("rate_limit_exceeded", (await TestJson.ErrorAsync(response))["code"]!.GetValue<string>());
                // Refused before the analysis: a key past its limit costs the router no analysis or embedding.
                Assert.False(response.Headers.Contains("x-router-task"));
            }
            else
            {
                Assert.True(response.Headers.Contains("x-router-task"));
            }
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], codes);
    }

    [Fact]
    public async Task Usage_counts_every_parsed_request_including_refusals_and_no_body_that_failed_to_parse()
    {
        await using var router = await RouterServerHost.StartAsync(MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString));
        await MeteringHost.CreateTenantAsync(router, "rows");
        var (_, key) = await MeteringHost.CreateKeyAsync(router, "rows");

        using (var malformed = await MeteringHost.ChatAsync(router, key, """{"model":"sim-small","messages":[""")) { Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode); }
        using (var noMessages = await MeteringHost.ChatAsync(router, key, """{"model":"sim-small"}""")) { Assert.Equal(HttpStatusCode.BadRequest, noMessages.StatusCode); }
        using (var badKey = await MeteringHost.ChatAsync(router, key + "x", TestJson.Chat("sim-small", "who am I"))) { Assert.Equal(HttpStatusCode.Unauthorized, badKey.StatusCode); }
        using (var unknownModel = await MeteringHost.ChatAsync(router, key, TestJson.Chat("no-such-model", "which model"))) { Assert.Equal(HttpStatusCode.BadRequest, unknownModel.StatusCode); }
        using (var answered = await MeteringHost.ChatAsync(router, key, TestJson.Chat("sim-small", "count me once"))) { Assert.Equal(HttpStatusCode.OK, answered.StatusCode); }

        var usage = await MeteringHost.UsageOnceRecordedAsync(router, key, 2);
        await Task.Delay(300);   // a row that should not exist has had time to be written
        usage = await MeteringHost.UsageAsync(router, key);
        Assert.Equal(2, usage["totals"]!["requests"]!.GetValue<long>());
        Assert.Equal(1, usage["totals"]!["errors"]!.GetValue<long>());
    }

    [Fact]
    public async Task Savings_compare_like_for_like_cached_input_on_both_sides_and_a_pricier_model_shows_a_negative_saving()
    {
        var settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        settings["Router:Models:sim-large:CachedInputCostPerMillion"] = "1.25";
        settings["Router:Models:sim-medium:CachedInputCostPerMillion"] = "0.10";
        settings["Router:BaselineModel"] = "sim-medium";
        await using var router = await RouterServerHost.StartAsync(settings);
        await MeteringHost.CreateTenantAsync(router, "likeforlike");
        var (_, key) = await MeteringHost.CreateKeyAsync(router, "likeforlike");

        // The baseline model itself answers with 800 of 1,000 prompt tokens cached: it saved nothing.
        const string body = """{"id":"chatcmpl-cached","object":"chat.completion","created":1,"model":"sim-medium","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1000,"completion_tokens":10,"total_tokens":1010,"prompt_tokens_details":{"cached_tokens":800}}}""";
        _simulator.Model("sim-medium").Script.Enqueue(new SimulatedFault.Raw(200, "application/json", body));
        using (var baselineServed = await MeteringHost.ChatAsync(router, key, TestJson.Chat("sim-medium", "a long shared prefix"))) { Assert.Equal(HttpStatusCode.OK, baselineServed.StatusCode); }
        var usage = await MeteringHost.UsageOnceRecordedAsync(router, key, 1);
        var cost = usage["totals"]!["cost_usd"]!.GetValue<decimal>();
        Assert.Equal((200 * 0.40m + 800 * 0.10m + 10 * 1.60m) / 1_000_000m, cost);
        Assert.Equal(cost, usage["totals"]!["baseline_cost_usd"]!.GetValue<decimal>());
        Assert.Equal(0m, usage["totals"]!["savings_usd"]!.GetValue<decimal>());

        // A model pricier than the baseline, asked for by name: the saving is negative, not hidden as zero.
        using (var pricier = await MeteringHost.ChatAsync(router, key, TestJson.Chat("sim-large", "the expensive one please"))) { Assert.Equal(HttpStatusCode.OK, pricier.StatusCode); }
        usage = await MeteringHost.UsageOnceRecordedAsync(router, key, 2);
        Assert.True(usage["totals"]!["savings_usd"]!.GetValue<decimal>() < 0);
    }

    [Fact]
    public async Task Per_call_fees_and_markup_are_billed_apart_from_provider_cost_and_grouped_in_usage()
    {
        await using var router = await RouterServerHost.StartAsync(MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString));
        await MeteringHost.CreateTenantAsync(router, "fees", ""","per_call_fee_usd":0.002,"markup_percent":10""");
        var (_, key) = await MeteringHost.CreateKeyAsync(router, "fees");
        for (var i = 0; i < 3; i++)
        {
            using var small = await MeteringHost.ChatAsync(router, key, TestJson.Chat("sim-small", $"small model call {i}"));
            Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        }

        decimal largeBilled, largeCost;
        using (var large = await MeteringHost.ChatAsync(router, key, TestJson.Chat("sim-large", "large model call")))
        {
            Assert.Equal(HttpStatusCode.OK, large.StatusCode);
            largeCost = decimal.Parse(large.Headers.GetValues("x-router-cost-usd").Single(), System.Globalization.CultureInfo.InvariantCulture);
            largeBilled = decimal.Parse(large.Headers.GetValues("x-router-billed-usd").Single(), System.Globalization.CultureInfo.InvariantCulture);
        }

        Assert.InRange(largeBilled - (largeCost + 0.002m + (largeCost * 0.10m)), -0.00000002m, 0.00000002m);

        var usage = await MeteringHost.UsageAsync(router, key, "?group_by=model");
        var totals = usage["totals"]!;
        var cost = totals["cost_usd"]!.GetValue<decimal>();
        Assert.Equal(4, totals["requests"]!.GetValue<long>());
        Assert.Equal(4 * 0.002m + cost * 0.10m, totals["fees_usd"]!.GetValue<decimal>());
        Assert.Equal(cost + totals["fees_usd"]!.GetValue<decimal>(), totals["billed_usd"]!.GetValue<decimal>());
        var groups = usage["groups"]!.AsArray().ToDictionary(g => g!["key"]!.GetValue<string>(), g => g!["requests"]!.GetValue<long>());
        Assert.Equal(3, groups["sim-small"]);
        Assert.Equal(1, groups["sim-large"]);
        Assert.True(totals["savings_usd"]!.GetValue<decimal>() > 0);

        // An invoice query: only 'to', at the end of last month, means that whole month (not a range ending before it starts).
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var lastMonthEnd = new DateOnly(today.Year, today.Month, 1).AddDays(-1);
        var lastMonth = await MeteringHost.UsageAsync(router, key, "?to=" + lastMonthEnd.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(new DateOnly(lastMonthEnd.Year, lastMonthEnd.Month, 1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), lastMonth["from"]!.GetValue<string>());
        Assert.Equal(0, lastMonth["totals"]!["requests"]!.GetValue<long>());

        // A bad query is a 400 in OpenAI's shape that names the parameter and carries a code a client can branch on.
        foreach (var (query, param) in new[] { ("?from=yesterday", "from"), ("?to=2026-13-01", "to"), ("?from=2026-02-01&to=2026-01-01", "to"), ("?group_by=colour", "group_by") })
        {
            using var response = await MeteringHost.UsageResponseAsync(router, key, query);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = await TestJson.ErrorAsync(response);
            Assert.Equal(param, error["param"]!.GetValue<string>());
            Assert.Equal("invalid_value", error["code"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task The_command_line_creates_a_key_that_a_running_server_accepts()
    {
        var settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        await using var router = await RouterServerHost.StartAsync(settings);
        await MeteringHost.CreateTenantAsync(router, "cli");
        var output = new StringWriter();
        var errors = new StringWriter();

        var exit = await Router.Server.RouterCli.RunAsync(
            ["keys", "create", "--tenant", "cli", "--name", "from-cli", "--rpm", "60", "--daily-budget", "2.5", "--expires", "2099-01-02T03:04:00Z"], output, errors,
            config => Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions.AddInMemoryCollection(config, settings));

        Assert.Equal(0, exit);
        var key = SensitiveValues.Register(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last());
        Assert.StartsWith("rk_", key, StringComparison.Ordinal);
        using var response = await MeteringHost.ChatAsync(router, key, TestJson.Chat("sim-small", "hello from a CLI-issued key"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // The listing shows what the key may do, not only that it exists.
        var listing = new StringWriter();
        Assert.Equal(0, await Router.Server.RouterCli.RunAsync(["keys", "list", "--tenant", "cli"], listing, errors,
            config => Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions.AddInMemoryCollection(config, settings)));
        var line = Assert.Single(listing.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.EndsWith("\tfrom-cli\tactive\texpires 2099-01-02T03:04Z\trpm=60 daily=$2.5", line, StringComparison.Ordinal);
        Assert.DoesNotContain(key, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_command_line_refuses_to_overwrite_a_tenant_and_reports_bad_values_in_a_line()
    {
        var settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        await using var router = await RouterServerHost.StartAsync(settings);
        await MeteringHost.CreateTenantAsync(router, "kept", ""","requests_per_minute":100,"audit_sample_rate":0.5""");

        async Task<(int Exit, string Output, string Errors)> RunAsync(params string[] args)
        {
            var output = new StringWriter();
            var errors = new StringWriter();
            var exit = await Router.Server.RouterCli.RunAsync(args, output, errors,
                config => Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions.AddInMemoryCollection(config, settings));
            return (exit, output.ToString(), errors.ToString());
        }

        var overwrite = await RunAsync("tenants", "create", "kept", "--daily-budget", "50");
        var quality = await RunAsync("tenants", "create", "fresh", "--quality", "7");
        var negative = await RunAsync("tenants", "create", "fresh", "--daily-budget", "-10");
        var overflow = await RunAsync("keys", "create", "--tenant", "kept", "--rpm", "99999999999");
        var created = await RunAsync("tenants", "create", "fresh", "--quality", "0.3", "--daily-budget", "5");

        Assert.Equal((1, "already exists"), (overwrite.Exit, overwrite.Errors.Contains("already exists", StringComparison.Ordinal) ? "already exists" : overwrite.Errors));
        Assert.Equal(1, quality.Exit);
        Assert.Contains("--quality must be between 0 and 1", quality.Errors, StringComparison.Ordinal);
        Assert.Equal(1, negative.Exit);
        Assert.Contains("--daily-budget must be positive", negative.Errors, StringComparison.Ordinal);
        Assert.Equal(1, overflow.Exit);
        Assert.Contains("format or range", overflow.Errors, StringComparison.Ordinal);
        Assert.All(new[] { overwrite, quality, negative, overflow }, r => Assert.DoesNotContain("   at ", r.Errors, StringComparison.Ordinal));
        Assert.Equal(0, created.Exit);

        // The existing tenant kept every setting the refused command would have wiped.
        using var kept = await MeteringHost.AdminAsync(router, HttpMethod.Get, "admin/tenants/kept");
        var body = await kept.Content.ReadAsStringAsync();
        Assert.Contains("\"requests_per_minute\":100", body, StringComparison.Ordinal);
        Assert.DoesNotContain("\"daily_budget_usd\":50", body, StringComparison.Ordinal);
    }
}
