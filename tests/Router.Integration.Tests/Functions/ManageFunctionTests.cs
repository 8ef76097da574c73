using System.Text.Json.Nodes;
using Router.Functions;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Functions;

/// <summary>The admin API of the Functions app at /manage/… (the host reserves admin/… routes for itself).</summary>
public sealed class ManageFunctionTests : IAsyncLifetime
{
    private const string AdminKey = "functions-manage-admin-key";
    private SimulatedProvider _simulator = null!;
    private FunctionsHost _host = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(_simulator);
        settings["Router:AdminKey"] = AdminKey;
        _host = new FunctionsHost(settings);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    private async Task<(int Status, string Body, string Allow)> ManageAsync(string method, string path, string? body = null, string key = AdminKey)
    {
        var context = _host.Request(method, "/manage/" + path, body, key);
        var result = await _host.Get<AdminFunctions>().Manage(context.Request, path);
        return (context.Response.StatusCode, await FunctionsHost.CompleteAsync(context, result), context.Response.Headers.Allow.ToString());
    }

    [Fact]
    public async Task The_manage_trigger_serves_the_admin_api_with_the_same_handlers_and_checks()
    {
        var created = await ManageAsync("POST", "tenants", """{"id":"fn-acme","requests_per_minute":30}""");
        var read = await ManageAsync("GET", "tenants/fn-acme");
        var rules = await ManageAsync("PUT", "tenants/fn-acme/rules", """[{"name":"cheap","then":{"max_tier":"economy"}}]""");
        var key = await ManageAsync("POST", "keys", """{"tenant":"fn-acme","name":"ci"}""");
        var notAdmin = await ManageAsync("GET", "tenants", key: "not-the-admin-key");
        var unknown = await ManageAsync("GET", "nothing/here");
        var wrongMethod = await ManageAsync("DELETE", "tenants");

        Assert.Equal(201, created.Status);
        Assert.Equal(200, read.Status);
        Assert.Equal(30, JsonNode.Parse(read.Body)!["requests_per_minute"]!.GetValue<int>());
        Assert.Equal(200, rules.Status);
        Assert.Equal(201, key.Status);
        Assert.StartsWith("rk_", JsonNode.Parse(key.Body)!["key"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(401, notAdmin.Status);
        Assert.Equal((404, "not_found"), (unknown.Status, JsonNode.Parse(unknown.Body)!["error"]!["code"]!.GetValue<string>()));
        Assert.Equal((405, "POST, GET"), (wrongMethod.Status, wrongMethod.Allow));
    }
}
