using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Router.Integration.Tests.Metering;
using Router.Integration.Tests.Storage;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Admin;

[Collection(AzuriteCollection.Name)]
public sealed class AdminConcurrencyTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Tenants_created_in_parallel_with_chat_traffic_keep_exactly_the_settings_they_were_sent()
    {
        // Admin bodies and chat bodies come from the same buffer pool: a body must not be read after its buffer
        // went back to the pool and another request wrote over it. Table Storage makes the handler await between
        // reading the body and using it, which is when that would show.
        await using var simulator = await SimulatedProvider.StartAsync();
        var settings = MeteringHost.Settings(simulator, azurite.Azurite.ConnectionString);
        await using var router = await RouterServerHost.StartAsync(settings);

        var statuses = new HttpStatusCode[100];
        await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            if (i % 2 == 0)
            {
                var n = i / 2;
                using var created = await MeteringHost.AdminAsync(router, HttpMethod.Post, "admin/tenants",
                    $$"""{"id":"parallel-{{n:000}}","daily_budget_usd":{{n + 1}},"per_call_fee_usd":0.00{{n % 10}}}""");
                statuses[n] = created.StatusCode;
            }
            else
            {
                using var chat = await TestJson.PostAsync(router.Http, "v1/chat/completions",
                    TestJson.Chat("sim-small", $"{new string('x', 2_000)} overwrite the pool {i}"));
                chat.EnsureSuccessStatusCode();
            }
        });

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.Created, s));
        for (var n = 0; n < 100; n++)
        {
            using var response = await MeteringHost.AdminAsync(router, HttpMethod.Get, $"admin/tenants/parallel-{n:000}");
            response.EnsureSuccessStatusCode();
            var tenant = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(n + 1, tenant["daily_budget_usd"]!.GetValue<decimal>());
            Assert.Equal(decimal.Parse($"0.00{n % 10}", CultureInfo.InvariantCulture), tenant["per_call_fee_usd"]!.GetValue<decimal>());
        }
    }
}
