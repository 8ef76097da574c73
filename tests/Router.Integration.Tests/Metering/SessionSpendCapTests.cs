using System.Collections.Concurrent;
using System.Net;
using Router.Integration.Tests.Storage;
using Router.Testing.Simulator;
using Xunit.Abstractions;

namespace Router.Integration.Tests.Metering;

/// <summary>A session's spend cap holds under concurrent requests of the session, and what a request set aside is given
/// back however it ends.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class SessionSpendCapTests(AzuriteFixture azurite, ITestOutputHelper output) : IAsyncLifetime
{
    // At $1,000 per million tokens a call reserves about $0.11 (a short prompt plus max_tokens 100): the cap fits two.
    private const decimal Cap = 0.25m;
    private SimulatedProvider _simulator = null!;

    public async Task InitializeAsync() => _simulator = await SimulatedProvider.StartAsync();

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    private async Task<(RouterServerHost Router, string Key)> StartAsync(string tenant)
    {
        var settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        settings["Router:Models:sim-small:InputCostPerMillion"] = "1000";
        settings["Router:Models:sim-small:OutputCostPerMillion"] = "1000";
        settings["Router:LoopGuard:MaxRepeats"] = "10000";
        var router = await RouterServerHost.StartAsync(settings);
        await MeteringHost.CreateTenantAsync(router, tenant, $$""","session_spend_cap_usd":{{Cap}}""");
        var (_, key) = await MeteringHost.CreateKeyAsync(router, tenant);
        return (router, key);
    }

    private static string Body(string text, bool stream = false) =>
        $$"""{"model":"sim-small","max_tokens":100,"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"{{SensitiveValues.Register(text)}}"}]}""";

    [Fact]
    public async Task Ten_concurrent_requests_of_one_session_against_a_slow_provider_stay_within_its_spend_cap()
    {
        var (router, key) = await StartAsync("sessions");
        await using var _ = router;
        var behavior = _simulator.Model("sim-small");
        // About 70 tokens an answer: each answered call really costs some $0.08, so ten of them would spend three times the cap.
        behavior.Responder = _ => string.Join(' ', Enumerable.Range(0, 60).Select(i => $"w{i}"));
        behavior.Latency = TimeSpan.FromSeconds(2);

        var answers = new ConcurrentBag<(HttpStatusCode Status, string Code)>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 10), new ParallelOptions { MaxDegreeOfParallelism = 10 }, async (i, _) =>
        {
            using var response = await MeteringHost.ChatAsync(router, key, Body($"agent step {i:00}: spend some money"), session: "agent-7");
            answers.Add((response.StatusCode, response.StatusCode == HttpStatusCode.OK ? "" : (await TestJson.ErrorAsync(response))["code"]!.GetValue<string>()));
        });

        var usage = await MeteringHost.UsageOnceRecordedAsync(router, key, 10);
        var billed = usage["totals"]!["billed_usd"]!.GetValue<decimal>();
        var admitted = answers.Count(a => a.Status == HttpStatusCode.OK);
        output.WriteLine($"{admitted} admitted, billed ${billed}: " + string.Join(", ", answers.Select(a => $"{(int)a.Status} {a.Code}")));

        Assert.Equal(10, usage["totals"]!["requests"]!.GetValue<long>());
        Assert.True(billed <= Cap, $"the session spent ${billed}, past its cap of ${Cap}");
        Assert.InRange(admitted, 2, 3);   // two fit the cap at their worst case; a third only once those have settled
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.OK), a => Assert.Equal((HttpStatusCode.PaymentRequired, "budget_exceeded"), a));

        // Another session of the same key has its own cap.
        behavior.Latency = TimeSpan.Zero;
        using var other = await MeteringHost.ChatAsync(router, key, Body("another agent's first step"), session: "agent-8");
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task Requests_that_fail_or_are_abandoned_give_their_reservation_back_to_the_session()
    {
        var (router, key) = await StartAsync("session-failures");
        await using var _ = router;
        var behavior = _simulator.Model("sim-small");
        using (var warm = await MeteringHost.ChatAsync(router, key, Body("warm up the path"), session: "warm-up"))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);   // a cold first request can be cut before it is even routed
        }

        // A provider that fails every attempt: the request costs nothing.
        behavior.FailureRate = 1;
        using (var failed = await MeteringHost.ChatAsync(router, key, Body("a step the provider fails"), session: "agent-9"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        }

        behavior.FailureRate = 0;

        // Clients that hang up while the provider thinks, streamed or not.
        behavior.Latency = TimeSpan.FromSeconds(30);
        for (var i = 0; i < 2; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(Body($"a step abandoned early, number {i}", stream: i == 1)) };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            request.Headers.Add("x-session-id", "agent-9");
            await MeteringHost.HangUpOnceReceivedAsync(router, _simulator, "sim-small", request);
        }

        await MeteringHost.UsageOnceRecordedAsync(router, key, 4);
        behavior.Latency = TimeSpan.FromSeconds(1);

        // Had any of the three kept its reservation, the cap would not fit two requests in flight together.
        var statuses = await Task.WhenAll(Enumerable.Range(0, 2).Select(async i =>
        {
            using var response = await MeteringHost.ChatAsync(router, key, Body($"a step that waits for its answer, number {i}"), session: "agent-9");
            return response.StatusCode;
        }));

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK], statuses);
    }
}
