using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Metering;

/// <summary>A router on Azurite-backed stores with an admin key, plus helpers to create tenants and keys.</summary>
public static class MeteringHost
{
    public const string AdminKey = "metering-admin-key-0001";

    public static Dictionary<string, string?> Settings(SimulatedProvider simulator, string storageConnection, string? tablePrefix = null)
    {
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:AdminKey"] = AdminKey;
        settings["Router:Storage:ConnectionString"] = storageConnection;
        settings["Router:Storage:TablePrefix"] = tablePrefix ?? "t" + Guid.NewGuid().ToString("N")[..10];
        return settings;
    }

    public static async Task<HttpResponseMessage> AdminAsync(RouterServerHost router, HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        if (json is not null)
        {
            request.Content = TestJson.Body(json);
        }

        return await router.Http.SendAsync(request);
    }

    public static async Task CreateTenantAsync(RouterServerHost router, string tenant, string extraJson = "")
    {
        using var response = await AdminAsync(router, HttpMethod.Post, "admin/tenants", $$"""{"id":"{{tenant}}"{{extraJson}}}""");
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
    }

    public static async Task<(string Id, string Key)> CreateKeyAsync(RouterServerHost router, string tenant, string extraJson = "")
    {
        using var response = await AdminAsync(router, HttpMethod.Post, "admin/keys", $$"""{"tenant":"{{tenant}}","name":"test"{{extraJson}}}""");
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var key = SensitiveValues.Register(body["key"]!.GetValue<string>());
        return (body["id"]!.GetValue<string>(), key);
    }

    public static async Task<HttpResponseMessage> ChatAsync(RouterServerHost router, string key, string json, string? session = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(json) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (session is not null)
        {
            request.Headers.Add("x-session-id", session);
        }

        return await router.Http.SendAsync(request);
    }

    /// <summary>Sends <paramref name="request"/> and hangs up as soon as <paramref name="simulator"/> has received the call
    /// for <paramref name="model"/> (the provider is thinking), not after a fixed time a loaded machine could overrun;
    /// the send must end cancelled.</summary>
    public static async Task HangUpOnceReceivedAsync(RouterServerHost router, SimulatedProvider simulator, string model, HttpRequestMessage request)
    {
        var before = simulator.ReceivedFor(model);
        using var hangUp = new CancellationTokenSource();
        var sending = router.Http.SendAsync(request, hangUp.Token);
        using (var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (simulator.ReceivedFor(model) == before && !sending.IsCompleted)
            {
                await Task.Delay(10, bound.Token);
            }
        }

        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);
    }

    /// <summary>Usage once at least <paramref name="requests"/> rows are in (rows are written just after each answer
    /// goes out), or as it stands after 30 s.</summary>
    public static async Task<JsonNode> UsageOnceRecordedAsync(RouterServerHost router, string key, long requests)
    {
        var usage = await UsageAsync(router, key);
        for (var attempt = 0; attempt < 300 && usage["totals"]!["requests"]!.GetValue<long>() < requests; attempt++)
        {
            await Task.Delay(100);
            usage = await UsageAsync(router, key);
        }

        return usage;
    }

    public static async Task<JsonNode> UsageAsync(RouterServerHost router, string key, string query = "")
    {
        using var response = await UsageResponseAsync(router, key, query);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    public static async Task<HttpResponseMessage> UsageResponseAsync(RouterServerHost router, string key, string query)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/usage" + query);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await router.Http.SendAsync(request);
    }
}
