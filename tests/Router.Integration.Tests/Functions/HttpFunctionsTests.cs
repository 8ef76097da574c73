using System.Text.Json.Nodes;
using Router.Functions;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Functions;

public sealed class HttpFunctionsTests : IAsyncLifetime
{
    private const string Key = "functions-test-key";
    private SimulatedProvider _simulator = null!;
    private FunctionsHost _host = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(_simulator);
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
    public async Task ChatCompletions_function_answers_through_the_shared_handler()
    {
        var functions = _host.Get<HttpFunctions>();
        var context = _host.Request("POST", "/v1/chat/completions", TestJson.Chat("sim-small", "hello from functions"), Key);

        var body = await FunctionsHost.CompleteAsync(context, await functions.ChatCompletions(context.Request));

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal(
            SimulatedProvider.DefaultAnswer("sim-small", "hello from functions"),
            JsonNode.Parse(body)!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        Assert.StartsWith("req_", context.Response.Headers["x-router-request-id"].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChatCompletions_function_always_requires_a_key_even_on_loopback()
    {
        var functions = _host.Get<HttpFunctions>();
        var context = _host.Request("POST", "/v1/chat/completions", TestJson.Chat("sim-small", "hi"));

        var body = await FunctionsHost.CompleteAsync(context, await functions.ChatCompletions(context.Request));

        Assert.Equal(401, context.Response.StatusCode);
        Assert.Equal("invalid_api_key", JsonNode.Parse(body)!["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task ChatCompletions_function_streams_server_sent_events()
    {
        var functions = _host.Get<HttpFunctions>();
        var context = _host.Request("POST", "/v1/chat/completions", TestJson.Chat("sim-large", "stream it", stream: true), Key);

        var body = await FunctionsHost.CompleteAsync(context, await functions.ChatCompletions(context.Request));

        Assert.StartsWith("text/event-stream", context.Response.ContentType, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Models_and_Health_functions_answer()
    {
        var functions = _host.Get<HttpFunctions>();
        var models = _host.Request("GET", "/v1/models", apiKey: Key);
        var health = _host.Request("GET", "/health");

        var modelsBody = await FunctionsHost.CompleteAsync(models, await functions.Models(models.Request));
        var healthBody = await FunctionsHost.CompleteAsync(health, await functions.Health(health.Request));

        Assert.Contains("sim-large", modelsBody, StringComparison.Ordinal);
        Assert.Equal("""{"status":"ok"}""", healthBody);
    }
}

public sealed class BackgroundFunctionsTests : IAsyncLifetime
{
    private SimulatedProvider _simulator = null!;
    private FunctionsHost _host = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatedProvider.StartAsync();
        _simulator.Model("sim-large").Responder = Audits.SimulatedJudge.Respond;
        _host = new FunctionsHost(RouterServerHost.SimulatedCatalog(_simulator));
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    [Fact]
    public async Task QualityAudit_judges_a_queued_answer_and_a_duplicate_message_is_a_no_op()
    {
        var functions = _host.Get<BackgroundFunctions>();
        const string Message = """
            {"request_id":"req_fn_audit","tenant":"acme","timestamp":"2026-11-27T10:00:00Z","task":"coding","band":"low",
             "model":"sim-small","tier":"economy","reason":"sampled",
             "messages":[{"role":"user","content":"reverse a string in C#"}],"answer":"BAD ANSWER: no idea"}
            """;

        await functions.QualityAudit(Message, CancellationToken.None);
        var callsAfterFirst = _simulator.ReceivedFor("sim-large");
        await functions.QualityAudit(Message, CancellationToken.None);

        Assert.Equal(3, callsAfterFirst);
        Assert.Equal(callsAfterFirst, _simulator.ReceivedFor("sim-large"));
        var stored = new List<Router.Core.Audits.AuditResult>();
        await foreach (var result in _host.Get<Router.Core.Audits.IAuditStore>().QueryAsync(DateTimeOffset.MinValue, CancellationToken.None))
        {
            stored.Add(result);
        }

        var audit = Assert.Single(stored);
        Assert.Equal(Router.Core.Audits.AuditVerdict.Worse, audit.Verdict);
    }

    [Fact]
    public async Task QualityAudit_records_a_judge_reply_without_a_verdict_as_unjudged()
    {
        _simulator.Model("sim-large").Responder = chat => chat.LastUserMessage.Contains("[Answer A]", StringComparison.Ordinal)
            ? "I'm sorry, but I can't compare these answers."
            : "A correct, complete reference answer.";
        var functions = _host.Get<BackgroundFunctions>();

        await functions.QualityAudit("""
            {"request_id":"req_fn_refused","tenant":"acme","timestamp":"2026-11-27T10:00:00Z","task":"coding","band":"low",
             "model":"sim-small","tier":"economy","reason":"sampled",
             "messages":[{"role":"user","content":"reverse a string in C#"}],"answer":"BAD ANSWER: no idea"}
            """, CancellationToken.None);

        var stored = new List<Router.Core.Audits.AuditResult>();
        await foreach (var result in _host.Get<Router.Core.Audits.IAuditStore>().QueryAsync(DateTimeOffset.MinValue, CancellationToken.None))
        {
            stored.Add(result);
        }

        var audit = Assert.Single(stored);
        Assert.Equal(Router.Core.Audits.AuditVerdict.Unjudged, audit.Verdict);
        Assert.False(audit.Conclusive);
        Assert.Equal(2, _simulator.ReceivedFor("sim-large"));   // the reference and one judge pass
    }

    [Fact]
    public async Task QualityAudit_rethrows_transient_failures_so_the_host_retries()
    {
        _simulator.Model("sim-large").FailureRate = 1.0;
        var functions = _host.Get<BackgroundFunctions>();

        await Assert.ThrowsAnyAsync<Exception>(() => functions.QualityAudit(
            """{"request_id":"req_fn_fail","tenant":"acme","timestamp":"2026-11-27T10:00:00Z","task":"chat","band":"low","model":"sim-small","tier":"economy","reason":"sampled","messages":[{"role":"user","content":"hi"}],"answer":"hello"}""",
            CancellationToken.None));
    }

    [Fact]
    public async Task RecomputeWeights_writes_a_new_version()
    {
        var functions = _host.Get<BackgroundFunctions>();

        await functions.RecomputeWeights(new Microsoft.Azure.Functions.Worker.TimerInfo(), CancellationToken.None);

        Assert.Equal(1, _host.Get<Router.Core.Weights.IRoutingWeightsSource>().Current.Version);
    }
}
