using System.Net;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Router.Integration.Tests.Metering;
using Router.Integration.Tests.Storage;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Admin;

/// <summary>Two routers on one storage account, as a scaled-out Functions app or two self-hosted servers behind a load
/// balancer are: an operator's admin calls land on either, one after the other.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class SharedStorageAdminTests(AzuriteFixture azurite) : IAsyncLifetime
{
    // Both routers' clocks stand still, so each one's short-lived cache of tenant settings stays exactly as it was filled.
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private SimulatedProvider _simulator = null!;

    public async Task InitializeAsync() => _simulator = await SimulatedProvider.StartAsync();

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    [Fact]
    public async Task A_setting_changed_on_one_instance_is_not_put_back_by_a_change_of_another_setting_on_a_second_instance()
    {
        var settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        await using var a = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<TimeProvider>(_time));
        await using var b = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<TimeProvider>(_time));
        await MeteringHost.CreateTenantAsync(a, "acme", ""","daily_budget_usd":100""");
        var (_, key) = await MeteringHost.CreateKeyAsync(a, "acme");

        // Instance B serves the tenant's traffic, so it has the tenant's settings at hand.
        using (var chat = await MeteringHost.ChatAsync(b, key, """{"model":"sim-small","messages":[{"role":"user","content":"Hello there"}]}"""))
        {
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }

        // The operator cuts the tenant's daily budget (the load balancer sends the call to A), then sets its knob (sent to B).
        using (var cut = await MeteringHost.AdminAsync(a, HttpMethod.Put, "admin/tenants/acme", """{"daily_budget_usd":5}"""))
        {
            Assert.Equal(HttpStatusCode.OK, cut.StatusCode);
        }

        using var knob = await MeteringHost.AdminAsync(b, HttpMethod.Put, "admin/tenants/acme", """{"quality":0.7}""");
        Assert.Equal(HttpStatusCode.OK, knob.StatusCode);
        var tenant = JsonNode.Parse(await knob.Content.ReadAsStringAsync())!;

        // Fields a PUT does not send keep their values: the budget stays cut.
        Assert.Equal(0.7, tenant["quality"]!.GetValue<double>());
        Assert.Equal(5m, tenant["daily_budget_usd"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task A_tenant_created_on_one_instance_is_not_created_again_over_it_on_a_second_instance()
    {
        var settings = MeteringHost.Settings(_simulator, azurite.Azurite.ConnectionString);
        await using var a = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<TimeProvider>(_time));
        await using var b = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<TimeProvider>(_time));

        // B is asked about the tenant before it exists: B has now looked it up, and may hold that answer for 10 s.
        using (var early = await MeteringHost.AdminAsync(b, HttpMethod.Get, "admin/tenants/acme"))
        {
            Assert.Equal(HttpStatusCode.NotFound, early.StatusCode);
        }

        await MeteringHost.CreateTenantAsync(a, "acme", ""","daily_budget_usd":5""");

        // A second create of the same tenant (a script run twice, or a retry that reached the other instance) must not
        // replace it: POST /admin/tenants answers 409 when the tenant exists, and changes go through PUT.
        using var again = await MeteringHost.AdminAsync(b, HttpMethod.Post, "admin/tenants", """{"id":"acme","daily_budget_usd":500}""");

        // The stored tenant, as a third instance would read it (each of these two may have it cached).
        var tenants = new TableServiceClient(azurite.Azurite.ConnectionString).GetTableClient(settings["Router:Storage:TablePrefix"] + "tenants");
        var stored = (await tenants.GetEntityAsync<TableEntity>("tenant", "acme")).Value;

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("5", stored.GetString("DailyBudgetUsd"));
    }
}
