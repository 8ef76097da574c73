using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Functions;

/// <summary>The same request to the Functions app (routed as the host routes it, from functions.metadata) and to the
/// self-hosted server gets the same answer.</summary>
public sealed class FunctionsParityTests : IAsyncLifetime
{
    private const string Key = "functions-parity-key";
    private const string AdminKey = "functions-parity-admin-key";
    private SimulatedProvider _simulator = null!;
    private RouterServerHost _server = null!;
    private FunctionsHost _functions = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(_simulator);
        settings["Router:ApiKeys:0:Tenant"] = "acme";
        settings["Router:ApiKeys:0:Key"] = Key;
        settings["Router:AdminKey"] = AdminKey;
        _server = await RouterServerHost.StartAsync(settings);
        _functions = new FunctionsHost(settings);
    }

    public async Task DisposeAsync()
    {
        await _functions.DisposeAsync();
        await _server.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    // The server answers every request no endpoint serves: 405 with Allow for a path served for other methods, 404
    // not_found for an unknown path, both in OpenAI's shape. The Functions host answered them with its own empty 404
    // (no function matched), and the manage trigger a 404 for a wrong method on an admin path.
    [Theory]
    [InlineData("GET", "/v1/chat/completions", 405)]
    [InlineData("DELETE", "/v1/models/gpt-4.1", 405)]
    [InlineData("PUT", "/health", 405)]
    [InlineData("DELETE", "/dashboard", 405)]
    [InlineData("PATCH", "/manage/tenants/acme", 405)]
    [InlineData("DELETE", "/manage/tenants", 405)]
    [InlineData("GET", "/v1/nothing-here", 404)]
    [InlineData("POST", "/v1/models.json", 404)]
    [InlineData("GET", "/manage/nothing/here", 404)]
    public async Task A_request_no_endpoint_serves_gets_the_same_answer_from_both_hosts(string method, string path, int status)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path.TrimStart('/'));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", path.StartsWith("/manage", StringComparison.Ordinal) ? AdminKey : Key);
        using var serverResponse = await _server.Http.SendAsync(request);
        var serverBody = await serverResponse.Content.ReadAsStringAsync();

        var context = _functions.Request(method, path, apiKey: path.StartsWith("/manage", StringComparison.Ordinal) ? AdminKey : Key);
        var functionsBody = await new FunctionsRouting().Send(_functions, context);

        Assert.Equal(status, (int)serverResponse.StatusCode);
        Assert.NotNull(functionsBody);   // null: no function matched, and the host answered an empty 404 of its own
        Assert.Equal(status, context.Response.StatusCode);
        Assert.Equal(string.Join(", ", serverResponse.Content.Headers.Allow), context.Response.Headers.Allow.ToString());
        var serverError = JsonNode.Parse(serverBody)!["error"]!;
        var functionsError = JsonNode.Parse(functionsBody)!["error"]!;
        Assert.Equal(serverError["type"]!.GetValue<string>(), functionsError["type"]!.GetValue<string>());
        Assert.Equal(serverError["code"]!.GetValue<string>(), functionsError["code"]!.GetValue<string>());
        Assert.Equal(serverError["message"]!.GetValue<string>(), functionsError["message"]!.GetValue<string>());
        Assert.StartsWith("req_", context.Response.Headers["x-router-request-id"].ToString(), StringComparison.Ordinal);
    }

    // Every endpoint the server serves is reached on the Functions app too, through the same handler. GET /v1/models
    // (OpenAI's models.list) also matches the Model trigger's v1/models/{*id}, whose catch-all may be empty, and the host
    // tries the longer route first: the function took it as a retrieve of a null id and answered 500.
    [Theory]
    [InlineData("GET", "/v1/models", 200)]
    [InlineData("GET", "/v1/models/router%2Feconomy", 200)]
    [InlineData("GET", "/v1/usage", 200)]
    [InlineData("GET", "/health", 200)]
    [InlineData("HEAD", "/health", 200)]
    [InlineData("GET", "/manage/tenants", 200)]
    [InlineData("GET", "/manage/weights", 200)]
    [InlineData("GET", "/manage/audits/poison", 200)]
    [InlineData("GET", "/manage/dashboard/data", 200)]
    [InlineData("GET", "/dashboard", 200)]
    public async Task Every_endpoint_answers_alike_on_both_hosts(string method, string path, int status)
    {
        var key = path.StartsWith("/manage", StringComparison.Ordinal) || path == "/dashboard" ? AdminKey : Key;
        using var request = new HttpRequestMessage(new HttpMethod(method), path.TrimStart('/'));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var serverResponse = await _server.Http.SendAsync(request);

        var context = _functions.Request(method, Uri.UnescapeDataString(path), apiKey: key);
        var functionsBody = await new FunctionsRouting().Send(_functions, context);

        Assert.Equal(status, (int)serverResponse.StatusCode);
        Assert.NotNull(functionsBody);
        Assert.Equal(status, context.Response.StatusCode);
        Assert.Equal(serverResponse.Content.Headers.ContentType?.MediaType, context.Response.ContentType?.Split(';')[0]);
    }
}
