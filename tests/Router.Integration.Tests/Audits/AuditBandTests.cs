using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Router.Core.Audits;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Audits;

/// <summary>Which band an audit is filed under: the prompt's own, whatever the tenant chose to pay.</summary>
public sealed class AuditBandTests
{
    [Theory]
    [InlineData("auto")]
    [InlineData("router/economy")]
    [InlineData("sim-small")]
    public async Task A_hard_prompt_served_cheaply_by_choice_is_audited_in_its_own_band(string model)
    {
        // Filed under the band the knob or alias moved it to, economy's answer to a hard prompt would count as a
        // low-band failure and raise the floor of easy prompts for every tenant.
        await using var simulator = await SimulatedProvider.StartAsync();
        var queue = new RecordingAuditQueue();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Audits:SampleRate"] = "1";
        settings["Router:Tenants:local:Quality"] = "0";
        await using var router = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<IAuditQueue>(queue));

        const string Hard = "Let f be continuous on [0,1] with integral of f(x) x^n dx = 0 for all n. Prove f is identically zero, then "
            + "generalise to L^2 functions and explain the role of the Stone-Weierstrass theorem.";
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = TestJson.Body($$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{Hard}}"}]}"""),
        };
        using var response = await router.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("economy", response.Headers.GetValues("x-router-tier").Single());
        var complexity = double.Parse(response.Headers.GetValues("x-router-complexity").Single(), CultureInfo.InvariantCulture);
        Assert.True(complexity >= 6.5, $"the prompt should be hard (complexity {complexity})");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (queue.Jobs.IsEmpty)
        {
            await Task.Delay(50, timeout.Token);
        }

        var job = Assert.Single(queue.Jobs);
        Assert.Equal(("high", "economy"), (job.Band, job.Tier));
    }
}
