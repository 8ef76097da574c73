using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Router.Testing.Simulator;
using Xunit.Abstractions;

namespace Router.Integration.Tests.Execution;

/// <summary>Failover, retry hints and circuit breaking against the simulated provider over real HTTP.</summary>
public sealed class FailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private SimulatedProvider _simulator = null!;
    private RouterServerHost _router = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatedProvider.StartAsync();
        _router = await RouterServerHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Router:UseDefaultCatalog"] = "false",
                ["Router:Providers:sim:Endpoint"] = _simulator.BaseUrl.ToString(),
                ["Router:Models:primary:Provider"] = "sim",
                ["Router:Models:primary:Tier"] = "Economy",
                ["Router:Models:primary:InputCostPerMillion"] = "0.10",
                ["Router:Models:primary:OutputCostPerMillion"] = "0.40",
                ["Router:Models:alternate:Provider"] = "sim",
                ["Router:Models:alternate:Tier"] = "Economy",
                ["Router:Models:alternate:InputCostPerMillion"] = "0.15",
                ["Router:Models:alternate:OutputCostPerMillion"] = "0.60",
                ["Router:Models:upper:Provider"] = "sim",
                ["Router:Models:upper:Tier"] = "Standard",
                ["Router:Models:upper:InputCostPerMillion"] = "1.00",
                ["Router:Models:upper:OutputCostPerMillion"] = "4.00",
                ["Router:Execution:AttemptTimeout"] = "00:00:05",

                // Audit calls would add upstream traffic these tests count.
                ["Router:Audits:Enabled"] = "false",
            },
            builder => builder.Services.AddSingleton<TimeProvider>(_time));
    }

    public async Task DisposeAsync()
    {
        await _router.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    private Task<HttpResponseMessage> AskAsync(string prompt, bool stream = false) =>
        TestJson.PostAsync(_router.Http, "v1/chat/completions", TestJson.Chat("router/economy", prompt, stream));

    [Fact]
    public async Task With_20_percent_failures_on_the_primary_clients_see_at_least_99_9_percent_success_in_at_most_3_attempts()
    {
        var primary = _simulator.Model("primary");
        primary.FailureRate = 0.10;
        primary.ResetRate = 0.10;
        var statuses = new ConcurrentBag<HttpStatusCode>();

        await Parallel.ForEachAsync(Enumerable.Range(0, 2000), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            using var response = await AskAsync($"request {i}");
            statuses.Add(response.StatusCode);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                output.WriteLine($"request {i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
            }
        });

        var succeeded = statuses.Count(s => s == HttpStatusCode.OK);
        var attemptsPerRequest = _simulator.Received.GroupBy(r => r.Headers["x-request-id"]).Select(g => g.Count()).ToArray();
        output.WriteLine($"succeeded {succeeded}/2000; primary calls {_simulator.ReceivedFor("primary")}, alternate {_simulator.ReceivedFor("alternate")}, upper {_simulator.ReceivedFor("upper")}; max attempts {attemptsPerRequest.Max()}");
        Assert.True(succeeded >= 1998, $"only {succeeded} of 2000 succeeded");
        Assert.Equal(2000, attemptsPerRequest.Length);
        Assert.True(attemptsPerRequest.Max() <= 3);
        Assert.True(_simulator.ReceivedFor("alternate") > 0, "failures on the primary were never failed over");
    }

    [Fact]
    public async Task A_429_with_retry_after_keeps_the_deployment_out_until_it_expires()
    {
        _simulator.Model("primary").Script.Enqueue(new SimulatedFault.Status(429, RetryAfter: "60"));

        using var first = await AskAsync("throttled");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("alternate", first.Headers.GetValues("x-router-model").Single());
        Assert.Equal("1", first.Headers.GetValues("x-router-fallbacks").Single());

        for (var i = 0; i < 10; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(5));
            using var during = await AskAsync($"during {i}");
            Assert.Equal("alternate", during.Headers.GetValues("x-router-model").Single());
        }

        Assert.Equal(1, _simulator.ReceivedFor("primary"));
        _time.Advance(TimeSpan.FromSeconds(11));
        using var after = await AskAsync("after the cool-down");
        Assert.Equal("primary", after.Headers.GetValues("x-router-model").Single());
    }

    [Fact]
    public async Task When_every_candidate_is_throttled_the_502_passes_on_the_soonest_retry_after()
    {
        _simulator.Model("primary").Script.Enqueue(new SimulatedFault.Status(429, RetryAfter: "40"));
        _simulator.Model("alternate").Script.Enqueue(new SimulatedFault.Status(429, RetryAfter: "7"));
        _simulator.Model("upper").Script.Enqueue(new SimulatedFault.Status(429, RetryAfter: "20"));

        using var response = await AskAsync("everyone is busy");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
        Assert.Contains("HTTP 429", (await TestJson.ErrorAsync(response))["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // Still a routed response: the contract's headers name the model tried last (as the usage row does), and say
        // that nothing was charged.
        foreach (var (name, expected) in new[] { ("x-router-model", "upper"), ("x-router-tier", "standard"), ("x-router-cost-usd", "0"), ("x-router-savings-usd", "0"), ("x-router-fallbacks", "3") })
        {
            Assert.Equal(expected, response.Headers.GetValues(name).Single());
        }

        // The usage row names the model tried last.
        var requestId = response.Headers.GetValues("x-router-request-id").Single();
        var ledger = _router.Services.GetRequiredService<Router.Core.Metering.IUsageLedger>();
        var day = DateOnly.FromDateTime(_time.GetUtcNow().UtcDateTime);
        Router.Core.Metering.UsageRecord? row = null;
        for (var i = 0; i < 600 && row is null; i++)
        {
            row = await ledger.QueryAsync("local", day.AddDays(-1), day.AddDays(1), CancellationToken.None).FirstOrDefaultAsync(r => r.RequestId == requestId);
            await Task.Delay(row is null ? 50 : 0);
        }

        Assert.NotNull(row);
        Assert.Equal("upper", row.Model);
        Assert.Equal("error", row.Outcome);
    }

    [Fact]
    public async Task When_every_provider_fails_the_breakers_open_and_requests_get_503_without_upstream_calls()
    {
        foreach (var model in new[] { "primary", "alternate", "upper" })
        {
            _simulator.Model(model).FailureRate = 1.0;
        }

        var requestsUntilOpen = 0;
        while (requestsUntilOpen < 20)
        {
            requestsUntilOpen++;
            using var response = await AskAsync($"failing {requestsUntilOpen}");
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                break;
            }

            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        }

        Assert.True(requestsUntilOpen < 20, "the breakers did not open within 20 requests");
        var callsWhenOpen = _simulator.Received.Count;
        var stopwatch = new Stopwatch();
        for (var i = 0; i < 20; i++)
        {
            stopwatch.Start();
            using var response = await AskAsync($"open {i}");
            stopwatch.Stop();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
            var error = await TestJson.ErrorAsync(response);
            Assert.Equal("no_healthy_model", error["code"]!.GetValue<string>());
        }

        Assert.Equal(callsWhenOpen, _simulator.Received.Count);
        output.WriteLine($"breakers open after {requestsUntilOpen} requests; mean 503 latency {stopwatch.Elapsed.TotalMilliseconds / 20:0.00} ms (measured, not asserted)");

        // After the break, concurrent requests let exactly one probe per deployment through.
        _time.Advance(TimeSpan.FromSeconds(31));
        await Task.WhenAll(Enumerable.Range(0, 10).Select(async i =>
        {
            using var response = await AskAsync($"probe {i}");
        }));
        var probes = _simulator.Received.Skip(callsWhenOpen).GroupBy(r => r.Model).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(probes.Values, count => Assert.Equal(1, count));
        Assert.Equal(3, probes.Count);
    }

    [Fact]
    public async Task A_stream_that_dies_before_its_first_event_fails_over()
    {
        _simulator.Model("primary").Script.Enqueue(new SimulatedFault.CutStream(0));

        using var response = await AskAsync("stream with a dead primary", stream: true);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("alternate", response.Headers.GetValues("x-router-model").Single());
        Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
        Assert.Contains(": x-router-cost-usd=", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_disconnects_cancels_the_upstream_request()
    {
        var hold = new TaskCompletionSource();
        _simulator.Model("primary").PauseAfterFirstChunk = hold.Task;
        try
        {
            // No draining: disposing the response closes the connection at once, as a client that goes away does.
            using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = _router.BaseUrl };
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(TestJson.Chat("primary", "long story", stream: true)) };
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[256];
            Assert.True(await stream.ReadAsync(buffer) > 0);

            response.Dispose();

            // The upstream call is cancelled, not left to run: the bound is generous because the CI machine is busy, and
            // the stream is paused forever, so without the cancellation it would never end.
            var upstream = _simulator.Received.Last(r => r.Model == "primary");
            await upstream.Aborted.WaitAsync(TimeSpan.FromSeconds(15));
        }
        finally
        {
            hold.TrySetResult();
            _simulator.Model("primary").PauseAfterFirstChunk = null;
        }
    }

    private static string Served(HttpResponseMessage response) => response.Headers.GetValues("x-router-model").Single();

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(404)]
    public async Task A_deployment_that_refuses_the_routers_own_credentials_or_name_is_failed_over(int status)
    {
        _simulator.Model("primary").Script.Enqueue(new SimulatedFault.Status(status));

        using var response = await AskAsync($"misconfigured primary {status}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("alternate", Served(response));
        Assert.Equal("1", response.Headers.GetValues("x-router-fallbacks").Single());
    }

    [Fact]
    public async Task A_body_that_breaks_off_stalls_or_is_no_completion_fails_over_before_anything_reaches_the_client()
    {
        var primary = _simulator.Model("primary").Script;
        primary.Enqueue(new SimulatedFault.PartialBody(ThenReset: true));
        primary.Enqueue(new SimulatedFault.Raw(200, "text/html", "<html><body>Bad gateway</body></html>"));
        primary.Enqueue(new SimulatedFault.Raw(200, "application/json", """{"error":{"message":"overloaded","type":"server_error"}}"""));
        primary.Enqueue(new SimulatedFault.Raw(200, "application/json", ""));
        primary.Enqueue(new SimulatedFault.PartialBody(ThenReset: false));

        foreach (var name in new[] { "reset mid-body", "html page", "error with 200", "empty body", "stalled body" })
        {
            var watch = Stopwatch.StartNew();
            var alternateBefore = _simulator.ReceivedFor("alternate");
            var asking = AskAsync("primary sends " + name);
            while (name == "stalled body" && !asking.IsCompleted && _simulator.ReceivedFor("alternate") == alternateBefore)
            {
                // The router's attempt timer runs on this test's clock, which moves only when told: it moves on a second
                // at a time until the router gives the stalled body up and asks the alternate, then stands still, so the
                // alternate's own attempt cannot time out however slowly this machine runs it.
                _time.Advance(TimeSpan.FromSeconds(1));
                await Task.WhenAny(asking, Task.Delay(50));
            }

            using var response = await asking;
            var body = await response.Content.ReadAsStringAsync();
            output.WriteLine($"{name}: {(int)response.StatusCode} from {Served(response)} in {watch.ElapsedMilliseconds} ms");

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("alternate", Served(response));
            Assert.Equal("1", response.Headers.GetValues("x-router-fallbacks").Single());
            Assert.False(string.IsNullOrEmpty(System.Text.Json.Nodes.JsonNode.Parse(body)!["choices"]![0]!["message"]!["content"]!.GetValue<string>()));
        }
    }

    [Fact]
    public async Task A_stream_that_opens_with_an_error_or_only_keep_alives_fails_over()
    {
        _simulator.Model("primary").Script.Enqueue(new SimulatedFault.ErrorInStream(0));
        _simulator.Model("primary").Script.Enqueue(new SimulatedFault.Raw(200, "text/event-stream", ": keep-alive\n\n: keep-alive\n\n"));

        foreach (var name in new[] { "error first", "keep-alives only" })
        {
            using var response = await AskAsync("stream whose primary sends " + name, stream: true);
            var text = await response.Content.ReadAsStringAsync();

            Assert.Equal("alternate", Served(response));
            Assert.DoesNotContain("error", text, StringComparison.Ordinal);
            Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_provider_redirect_is_not_followed_with_the_prompt_and_fails_over()
    {
        await using var elsewhere = await SimulatedProvider.StartAsync();
        _simulator.Model("primary").Script.Enqueue(new SimulatedFault.Raw(307, "text/plain", "", new Uri(elsewhere.BaseUrl, "chat/completions").ToString()));

        using var response = await AskAsync("a prompt that must not travel");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("alternate", Served(response));
        Assert.Empty(elsewhere.Received);
    }

    [Theory]
    [InlineData("text/html", "<html><center>413 Request Entity Too Large</center></html>")]
    [InlineData("application/json", """{"error":{"message":"too large","type":"invalid_request_error"}}<html><center>413 Request Entity Too Large</center></html>""")]
    public async Task A_providers_html_rejection_reaches_the_client_in_openais_error_shape(string contentType, string body)
    {
        _simulator.Model("primary").Script.Enqueue(new SimulatedFault.Raw(413, contentType, body));

        using var response = await AskAsync("a request the proxy finds too large (" + contentType + ")");
        var error = await TestJson.ErrorAsync(response);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("provider_rejected", error["code"]!.GetValue<string>());
        Assert.DoesNotContain("<html>", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}

/// <summary>A provider client that throws (here: Entra ID with no identity to sign in with) fails its attempt over.</summary>
public sealed class ProviderExceptionTests
{
    private sealed class NoIdentity : Azure.Core.TokenCredential
    {
        public int Calls;

        public override Azure.Core.AccessToken GetToken(Azure.Core.TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            throw new Azure.Identity.CredentialUnavailableException("No managed identity endpoint found.");

        public override ValueTask<Azure.Core.AccessToken> GetTokenAsync(Azure.Core.TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            throw new Azure.Identity.CredentialUnavailableException("No managed identity endpoint found.");
        }
    }

    [Fact]
    public async Task A_credential_that_cannot_be_obtained_fails_over_to_the_next_candidate()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var credential = new NoIdentity();
        await using var router = await RouterServerHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Router:UseDefaultCatalog"] = "false",
                ["Router:Providers:entra:Type"] = "AzureOpenAI",
                ["Router:Providers:entra:Endpoint"] = simulator.BaseUrl.ToString(),
                ["Router:Providers:sim:Endpoint"] = simulator.BaseUrl.ToString(),
                ["Router:Models:az:Provider"] = "entra",
                ["Router:Models:az:Tier"] = "Economy",
                ["Router:Models:az:InputCostPerMillion"] = "0.05",
                ["Router:Models:az:OutputCostPerMillion"] = "0.20",
                ["Router:Models:alternate:Provider"] = "sim",
                ["Router:Models:alternate:Tier"] = "Economy",
                ["Router:Models:alternate:InputCostPerMillion"] = "0.15",
                ["Router:Models:alternate:OutputCostPerMillion"] = "0.60",
                ["Router:Audits:Enabled"] = "false",
            },
            builder => builder.Services.AddSingleton<Azure.Core.TokenCredential>(credential));

        using var response = await TestJson.PostAsync(router.Http, "v1/chat/completions", TestJson.Chat("router/economy", "hello through a broken identity"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("alternate", response.Headers.GetValues("x-router-model").Single());
        Assert.True(credential.Calls > 0, "the Entra ID deployment was never tried: the test proves nothing");
    }
}
