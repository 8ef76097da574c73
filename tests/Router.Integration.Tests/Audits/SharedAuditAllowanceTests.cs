using System.Diagnostics.Metrics;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Audits;
using Router.Core.Telemetry;
using Router.Infrastructure.Audits;
using Router.Infrastructure.Storage;
using Router.Integration.Tests.Functions;
using Router.Integration.Tests.Storage;
using Router.Testing.Proxy;

namespace Router.Integration.Tests.Audits;

/// <summary>Router:Audits:MaxPerMinute held by router instances that share a storage account: scaled out, they together
/// queue what one instance may, where each used to queue that much.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class SharedAuditAllowanceTests(AzuriteFixture azurite)
{
    private static readonly IMeterFactory Meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly string _prefix = "a" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Two_instances_sharing_one_table_queue_no_more_than_the_cap_a_minute_and_keep_its_last_fifth_for_probes()
    {
        using var a = Sampler(azurite.Azurite.ConnectionString, 30);
        using var b = Sampler(azurite.Azurite.ConnectionString, 30);

        for (var minute = 0; minute < 3; minute++)
        {
            if (minute > 0)
            {
                _time.Advance(TimeSpan.FromMinutes(1));
            }

            // Alone, each would queue 24 sampled audits and 6 probes.
            Assert.Equal(24, await AdmittedAsync(AuditReasons.Sampled, 30, a, b));
            Assert.Equal(6, await AdmittedAsync(AuditReasons.Probe, 10, a, b));
            Assert.Equal(0, await AdmittedAsync(AuditReasons.Rule, 5, a, b));
        }

        // One row per minute of the hour: the table does not grow with time.
        var rows = await new TableServiceClient(azurite.Azurite.ConnectionString).GetTableClient(_prefix + "auditallowance")
            .QueryAsync<TableEntity>().ToListAsync();
        Assert.Equal(["00", "01", "02"], rows.Select(r => r.RowKey).Order(StringComparer.Ordinal));
        Assert.All(rows, r => Assert.Equal(30, r.GetInt32("Taken")));
    }

    [Fact]
    public async Task An_unreachable_table_leaves_each_instance_to_its_own_allowance_until_it_answers_again()
    {
        var tableEndpoint = azurite.Azurite.ConnectionString.Split(';').Single(p => p.StartsWith("TableEndpoint=", StringComparison.Ordinal))["TableEndpoint=".Length..];
        await using var proxy = await StorageFaultProxy.StartAsync(new Uri(tableEndpoint));
        var logger = new FakeLogger<AuditSampler>();
        using var sampler = Sampler(proxy.Rewrite(azurite.Azurite.ConnectionString, "TableEndpoint"), 10, logger);

        proxy.Unreachable = true;
        Assert.Equal(8, await AdmittedAsync(AuditReasons.Sampled, 20, sampler));
        Assert.Equal([1307], logger.Collector.GetSnapshot().Select(r => r.Id.Id).Where(id => id != 1306));

        proxy.Unreachable = false;
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await AdmittedAsync(AuditReasons.Sampled, 1, sampler));
        Assert.Equal([1307, 1308], logger.Collector.GetSnapshot().Select(r => r.Id.Id).Where(id => id != 1306));

        // Another instance takes the rest of the minute's sampled audits: this one spends the lease it holds, and no more.
        using var other = Sampler(azurite.Azurite.ConnectionString, 10);
        await AdmittedAsync(AuditReasons.Sampled, 10, other);
        Assert.Equal(2, await AdmittedAsync(AuditReasons.Sampled, 10, sampler));
    }

    [Fact]
    public async Task The_functions_app_on_storage_shares_the_allowance_and_the_embedded_server_keeps_its_own()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Router:Storage:ConnectionString"] = azurite.Azurite.ConnectionString,
            ["Router:Storage:TablePrefix"] = _prefix,
        };
        await using var functions = new FunctionsHost(settings);
        var shared = functions.Get<AuditSampler>();

        // Its first audit finds no lease yet: admitted on credit, it asks for one, which pays for it and leaves none, so
        // the next is refused and leases more (in the same minute of the real clock, or a credit and a lease in the next).
        Assert.True(shared.Admit(AuditReasons.Sampled));
        await shared.Leasing;
        var second = shared.Admit(AuditReasons.Sampled);
        await shared.Leasing;
        Assert.InRange(await AdmittedAsync(AuditReasons.Sampled, 2, shared) + (second ? 1 : 0), 1, 3);
        var rows = await new TableServiceClient(azurite.Azurite.ConnectionString).GetTableClient(_prefix + "auditallowance")
            .QueryAsync<TableEntity>().ToListAsync();
        Assert.NotEmpty(rows);   // the shared allowance is in the table

        await using var embedded = new FunctionsHost(new Dictionary<string, string?>());
        Assert.True(embedded.Get<AuditSampler>().Admit(AuditReasons.Sampled));
    }

    // Each answer is decided after the lease the one before asked for is in, as on instances whose audits are further
    // apart than a round-trip to storage.
    private static async Task<int> AdmittedAsync(string reason, int rounds, params AuditSampler[] samplers)
    {
        var admitted = 0;
        for (var i = 0; i < rounds; i++)
        {
            foreach (var sampler in samplers)
            {
                admitted += sampler.Admit(reason) ? 1 : 0;
                await sampler.Leasing;
            }
        }

        return admitted;
    }

    // An instance on the table behind connection (the shared clock, so minutes turn for all at once); a failed call is
    // not retried, so an unreachable table is known at once.
    private AuditSampler Sampler(string connection, int perMinute, ILogger<AuditSampler>? logger = null)
    {
        var clientOptions = new TableClientOptions();
        clientOptions.Retry.MaxRetries = 0;
        clientOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        var tables = new RouterTables(new TableServiceClient(connection, clientOptions),
            Options.Create(new StorageOptions { ConnectionString = connection, TablePrefix = _prefix }));
        return new AuditSampler(Options.Create(new AuditOptions { MaxPerMinute = perMinute }), _time, new RouterTelemetry(Meters),
            logger ?? new FakeLogger<AuditSampler>(), new TableAuditAllowanceStore(tables));
    }
}
