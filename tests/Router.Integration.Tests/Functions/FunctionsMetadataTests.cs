using System.Text.Json.Nodes;

namespace Router.Integration.Tests.Functions;

public sealed class FunctionsMetadataTests
{
    /// <summary>The <c>functions.metadata</c> the Functions SDK generated when it built Router.Functions.</summary>
    internal static JsonArray LoadMetadata()
    {
        var path = Path.Combine(RepositoryRoot(), "src", "Router.Functions", "bin", BuildConfiguration(), "net10.0", "functions.metadata");
        Assert.True(File.Exists(path), $"functions.metadata not found at {path}; build src/Router.Functions first.");
        return JsonNode.Parse(File.ReadAllText(path))!.AsArray();
    }

    internal static JsonObject Function(JsonArray metadata, string name) =>
        metadata.Single(f => f!["name"]!.GetValue<string>() == name)!.AsObject();

    [Theory]
    [InlineData("ChatCompletions", "v1/chat/completions", "post")]
    [InlineData("Models", "v1/models", "get")]
    [InlineData("Model", "v1/models/{*id}", "get")]
    [InlineData("Health", "health", "get,head")]
    [InlineData("Route", "v1/route", "post")]
    [InlineData("GetTenantRules", "admin/tenants/{tenant}/rules", "get")]
    [InlineData("PutTenantRules", "admin/tenants/{tenant}/rules", "put")]
    [InlineData("PutTenantQuality", "admin/tenants/{tenant}/quality", "put")]
    [InlineData("Usage", "v1/usage", "get")]
    [InlineData("CreateKey", "admin/keys", "post")]
    [InlineData("ListKeys", "admin/keys", "get")]
    [InlineData("RevokeKey", "admin/keys/{id}", "delete")]
    [InlineData("RotateKey", "admin/keys/{id}/rotate", "post")]
    [InlineData("CreateTenant", "admin/tenants", "post")]
    [InlineData("ListTenants", "admin/tenants", "get")]
    [InlineData("GetTenant", "admin/tenants/{tenant}", "get")]
    [InlineData("UpdateTenant", "admin/tenants/{tenant}", "put")]
    [InlineData("GetWeights", "admin/weights", "get")]
    [InlineData("RecomputeWeightsNow", "admin/weights/recompute", "post")]
    [InlineData("GetAuditPoison", "admin/audits/poison", "get")]
    [InlineData("RedriveAudits", "admin/audits/redrive", "post")]
    [InlineData("Dashboard", "dashboard", "get")]
    [InlineData("DashboardLogin", "dashboard/login", "post")]
    [InlineData("DashboardLogout", "dashboard/logout", "post")]
    [InlineData("DashboardData", "admin/dashboard/data", "get")]
    public void Every_http_function_is_declared_with_its_route_and_methods(string name, string route, string methods)
    {
        var function = Function(LoadMetadata(), name);

        var trigger = function["bindings"]!.AsArray().Single(b => b!["type"]!.GetValue<string>() == "httpTrigger")!;
        Assert.Equal(route, trigger["route"]!.GetValue<string>());
        Assert.Equal(methods.Split(','), trigger["methods"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal("Anonymous", trigger["authLevel"]!.GetValue<string>());
        Assert.Equal("dotnet-isolated", function["language"]!.GetValue<string>());
    }

    [Fact]
    public void QualityAudit_is_a_queue_trigger_and_RecomputeWeights_a_timer_trigger_named_by_settings()
    {
        var metadata = LoadMetadata();

        var audit = Function(metadata, "QualityAudit")["bindings"]!.AsArray().Single()!;
        Assert.Equal("queueTrigger", audit["type"]!.GetValue<string>());
        Assert.Equal("%Router:Audits:QueueName%", audit["queueName"]!.GetValue<string>());

        var timer = Function(metadata, "RecomputeWeights")["bindings"]!.AsArray().Single()!;
        Assert.Equal("timerTrigger", timer["type"]!.GetValue<string>());
        Assert.Equal("%Router:Weights:Schedule%", timer["schedule"]!.GetValue<string>());
    }

    [Fact]
    public void The_admin_api_is_also_declared_under_manage_which_the_functions_host_allows()
    {
        var trigger = Function(LoadMetadata(), "Manage")["bindings"]!.AsArray().Single(b => b!["type"]!.GetValue<string>() == "httpTrigger")!;

        Assert.Equal("manage/{*path}", trigger["route"]!.GetValue<string>());
        Assert.Equal(["get", "post", "put", "delete"], trigger["methods"]!.AsArray().Select(m => m!.GetValue<string>().ToLowerInvariant()));
    }

    [Fact]
    public void Requests_no_other_function_serves_reach_the_catch_all_for_every_method()
    {
        var trigger = Function(LoadMetadata(), "Unmatched")["bindings"]!.AsArray().Single(b => b!["type"]!.GetValue<string>() == "httpTrigger")!;

        // No methods listed: the host routes every method to it. A route that starts with a parameter is tried after
        // every route that starts with a literal segment, as all the others do.
        Assert.Equal("{*path}", trigger["route"]!.GetValue<string>());
        Assert.Null(trigger["methods"]);
        Assert.Equal("Anonymous", trigger["authLevel"]!.GetValue<string>());
    }

    [Fact]
    public void Every_setting_a_trigger_binds_is_in_the_local_settings_sample()
    {
        // The host resolves "%Router:Audits:QueueName%" itself, before any code default could apply: a setting missing
        // from local.settings.json leaves the trigger unbound.
        var placeholders = LoadMetadata()
            .SelectMany(f => f!["bindings"]!.AsArray())
            .SelectMany(b => b!.AsObject().Select(p => p.Value?.GetValueKind() == System.Text.Json.JsonValueKind.String ? p.Value!.GetValue<string>() : ""))
            .Where(v => v.Length > 2 && v.StartsWith('%') && v.EndsWith('%'))
            .Select(v => v[1..^1].Replace(":", "__", StringComparison.Ordinal))
            .Distinct()
            .ToList();
        var sample = JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "local.settings.sample.json")))!["Values"]!.AsObject();

        Assert.Contains("Router__Audits__QueueName", placeholders);
        Assert.All(placeholders, name => Assert.True(sample.ContainsKey(name), $"{name} is bound by a trigger but missing from local.settings.sample.json"));
        // Without storage the audit channel is in-process, and the Functions app runs no worker to empty it.
        Assert.True(sample.ContainsKey("Router__Storage__ConnectionString"));
    }

    [Fact]
    public void Host_json_is_in_the_function_app_output_with_an_empty_route_prefix()
    {
        var path = Path.Combine(RepositoryRoot(), "src", "Router.Functions", "bin", BuildConfiguration(), "net10.0", "host.json");
        var host = JsonNode.Parse(File.ReadAllText(path))!;

        Assert.Equal("", host["extensions"]!["http"]!["routePrefix"]!.GetValue<string>());
        Assert.Equal(5, host["extensions"]!["queues"]!["maxDequeueCount"]!.GetValue<int>());
        // Failed audits are retried 5 minutes apart: a judge outage of a few minutes must not poison them all.
        Assert.Equal(TimeSpan.FromMinutes(5), TimeSpan.Parse(host["extensions"]!["queues"]!["visibilityTimeout"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Router.Functions.sln")) || File.Exists(Path.Combine(dir.FullName, "Router.Functions.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Repository root not found.");
    }

    private static string BuildConfiguration() =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
}
