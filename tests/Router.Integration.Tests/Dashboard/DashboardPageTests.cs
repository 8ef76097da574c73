using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using Router.Integration.Tests.Audits;
using Router.Testing.Simulator;
using Xunit.Abstractions;

namespace Router.Integration.Tests.Dashboard;

/// <summary>The operators' dashboard in headless Chromium: an operator signs in with the admin key and every chart
/// draws the traffic the router has served.</summary>
public sealed class DashboardPageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string AdminKey = "dashboard-admin-key-0001";
    private const string AcmeKey = "dashboard-acme-key-0001";
    private const string HostileKey = "dashboard-hostile-key-0001";

    // Tenant names reach the page as data: it must show this one as text and never run it.
    private const string HostileTenant = "<img src=x onerror=\"document.body.dataset.xss='1'\">";

    private static readonly string[] Charts = ["chart-spend", "chart-savings", "chart-models", "chart-tiers", "chart-cache", "chart-audits", "chart-fallbacks"];

    private static readonly string[] AutoPrompts =
    [
        "What is a good name for a grey cat who likes boxes?",
        "Write a Python function that merges two sorted lists and explain its complexity.",
        "Summarize in two sentences: the city council met on Tuesday to discuss new bike lanes on Main Street, heard from residents for three hours and voted to fund a pilot next spring.",
        "Prove that there are infinitely many primes, step by step, rigorously, and discuss two alternative proofs.",
        "What are the common side effects of ibuprofen?",
        "Translate into French: the meeting is moved to Thursday morning.",
    ];

    private static readonly string[] PinnedModels = ["sim-large", "sim-medium", "router/premium", "sim-small"];

    // Traffic spread over the last twelve hours, so the time charts have a shape.
    private readonly FakeTimeProvider _time = new(TruncateToHour(DateTimeOffset.UtcNow).AddHours(-11).AddMinutes(7));
    private SimulatedProvider _simulator = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatedProvider.StartAsync();

        // The standard model is poor at coding, so the audit chart shows a weak pair next to good ones.
        _simulator.Model("sim-medium").Responder = chat => chat.LastUserMessage.Contains("Python", StringComparison.Ordinal)
            ? "BAD ANSWER: I cannot write code."
            : SimulatedProvider.DefaultAnswer(chat.Model, chat.LastUserMessage);
        _simulator.Model("sim-large").Responder = SimulatedJudge.Respond;
    }

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    [Fact]
    public async Task An_operator_signs_in_and_every_chart_draws_the_served_traffic()
    {
        var settings = RouterServerHost.SimulatedCatalog(_simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:AdminKey"] = AdminKey;
        settings["Router:ApiKeys:0:Tenant"] = "acme";
        settings["Router:ApiKeys:0:Key"] = AcmeKey;
        settings["Router:ApiKeys:1:Tenant"] = HostileTenant;
        settings["Router:ApiKeys:1:Key"] = HostileKey;
        settings["Router:Audits:SampleRate"] = "1";
        settings["Router:Audits:RetryBaseDelay"] = "00:00:00.050";
        await using var router = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<TimeProvider>(_time));

        var seeded = await SeedTrafficAsync(router);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await SystemChromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        page.SetDefaultTimeout(30_000);

        // Without the cookie the page is the sign-in form.
        var first = await page.GotoAsync(new Uri(router.BaseUrl, "dashboard").ToString());
        Assert.Equal((int)HttpStatusCode.Unauthorized, first!.Status);

        // From here on, a script error or a refused resource (a CSP violation, a missing asset) fails the test.
        var pageErrors = new List<string>();
        page.PageError += (_, error) => pageErrors.Add(error);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                pageErrors.Add(message.Text + " " + message.Location);
            }
        };
        await page.FillAsync("#key", AdminKey);
        var figures = await page.RunAndWaitForResponseAsync(
            () => page.ClickAsync("#sign-in"),
            r => r.Url.Contains("/manage/dashboard/data", StringComparison.Ordinal));   // the prefix both hosts serve
        Assert.Equal((int)HttpStatusCode.OK, figures.Status);
        var shown = JsonNode.Parse(await figures.TextAsync())!;
        await page.WaitForSelectorAsync("body[data-loaded='true']");
        Assert.EndsWith("/dashboard", new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);

        // Taken before the checks, so a failure can be looked at.
        var screenshot = Path.Combine(RepositoryRoot(), ".artifacts", "dashboard.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        output.WriteLine($"screenshot: {screenshot}");

        foreach (var chart in Charts)
        {
            var host = page.Locator("#" + chart);
            Assert.Equal("true", await host.GetAttributeAsync("data-rendered"));
            var shapes = await page.Locator($"#{chart} svg .datum").CountAsync();
            output.WriteLine($"{chart}: {shapes} data shapes");
            Assert.True(shapes >= 1, $"{chart} has no data shapes");
            Assert.Equal(0, await page.Locator($"#{chart} .empty").CountAsync());
        }

        // The time charts span several buckets, and the fallback seeded below is a visible bar.
        Assert.Contains("L", await page.Locator("#chart-spend path.line").First.GetAttributeAsync("d") ?? "", StringComparison.Ordinal);
        Assert.Equal(2, await page.Locator("#chart-spend path.line").CountAsync());
        var tallestFallbackBar = await page.EvaluateAsync<double>(
            "() => Math.max(0, ...Array.from(document.querySelectorAll('#chart-fallbacks rect.datum')).map(r => Number(r.getAttribute('height'))))");
        Assert.True(tallestFallbackBar > 0, "the fallback is not drawn");
        Assert.Equal(shown["audit_quality"]!.AsArray().Count, await page.Locator("#chart-audits rect.datum").CountAsync());
        Assert.Equal(shown["models"]!.AsArray().Count, await page.Locator("#chart-models rect.datum").CountAsync());

        var requests = shown["totals"]!["requests"]!.GetValue<long>();
        Assert.Equal(seeded, requests);
        Assert.Equal(requests.ToString("N0", CultureInfo.GetCultureInfo("en-US")), await page.Locator("#kpi-requests .value").TextContentAsync());
        Assert.NotEqual("–", await page.Locator("#kpi-audit .value").TextContentAsync());

        var table = page.Locator("#recent-decisions");
        Assert.Equal("true", await table.GetAttributeAsync("data-rendered"));
        var rows = await table.Locator("tbody tr").CountAsync();
        Assert.Equal(Math.Min(50, requests), rows);
        Assert.True(await table.Locator("tbody tr .reasons li").CountAsync() >= rows, "decisions are listed without their reasons");
        Assert.True(await table.Locator(".badge.warn").CountAsync() >= 1, "the failover is not shown");

        // The hostile tenant name is shown verbatim, and nothing in it ran.
        Assert.True(await table.Locator("td").Filter(new LocatorFilterOptions { HasTextString = HostileTenant }).CountAsync() >= 1);
        Assert.Equal(0, await page.Locator("#recent-decisions img").CountAsync());
        Assert.Null(await page.EvaluateAsync<string?>("() => document.body.dataset.xss ?? null"));
        Assert.Empty(pageErrors);

        // The README shows the page as this test last saw it pass.
        var docs = Path.Combine(RepositoryRoot(), "docs", "dashboard.png");
        Directory.CreateDirectory(Path.GetDirectoryName(docs)!);
        File.Copy(screenshot, docs, overwrite: true);
    }

    /// <summary>A few dozen requests over twelve simulated hours: routed and pinned, repeated, <c>no-store</c>, from two
    /// tenants, one failing over; then waits until the audits they sampled are judged.</summary>
    private async Task<long> SeedTrafficAsync(RouterServerHost router)
    {
        var sent = 0;
        for (var hour = 0; hour < 12; hour++)
        {
            for (var k = 0; k < 3; k++)
            {
                var prompt = AutoPrompts[(hour + k) % AutoPrompts.Length];
                // Every third hour repeats a prompt verbatim; the others vary it.
                var text = hour % 3 == 0 && k == 0 ? prompt : $"{prompt} (case {hour}.{k})";
                await ChatAsync(router, hour % 5 == 0 && k == 1 ? HostileKey : AcmeKey, "auto", text, noStore: hour % 4 == 1 && k == 2);
                sent++;
            }

            await ChatAsync(router, AcmeKey, PinnedModels[hour % PinnedModels.Length], $"Give me one fun fact about the number {hour + 3}.", noStore: hour % 4 == 3);
            sent++;

            if (hour == 6)
            {
                // The economy model fails once; the router answers from the next candidate.
                _simulator.Model("sim-small").Script.Enqueue(new SimulatedFault.Status(503));
                var (model, fallbacks) = await ChatAsync(router, AcmeKey, "router/economy", "Suggest three ideas for a rainy Sunday afternoon.");
                output.WriteLine($"failover answered by {model}");
                Assert.Equal("1", fallbacks);
                sent++;
            }

            _time.Advance(TimeSpan.FromHours(1));
        }

        // Audits run in the background: wait until they are judged and their count settles.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        var audited = -1;
        var steady = 0;
        while (true)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no settled audit figures after 90 s (last count {audited})");
            var data = await DataAsync(router);
            var rows = data["audit_quality"]!.AsArray();
            var now = rows.Sum(r => r!["audits"]!.GetValue<int>());
            steady = rows.Count > 0 && now == audited ? steady + 1 : 0;
            audited = now;
            if (steady >= 3)
            {
                output.WriteLine($"{sent} requests sent; {data["totals"]!["requests"]} recorded; {audited} audits in {rows.Count} task/model pairs");
                Assert.Equal(sent, data["totals"]!["requests"]!.GetValue<long>());
                return sent;
            }

            await Task.Delay(300);
        }
    }

    private async Task<(string Model, string Fallbacks)> ChatAsync(RouterServerHost router, string key, string model, string prompt, bool noStore = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(TestJson.Chat(model, prompt)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (noStore)
        {
            request.Headers.CacheControl = new CacheControlHeaderValue { NoStore = true };
        }

        using var response = await router.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var served = response.Headers.GetValues("x-router-model").Single();
        output.WriteLine($"{model,-15} -> {served,-10} {response.Headers.GetValues("x-router-tier").Single(),-9} task {response.Headers.GetValues("x-router-task").Single()}");
        return (served, response.Headers.GetValues("x-router-fallbacks").Single());
    }

    private static async Task<JsonNode> DataAsync(RouterServerHost router)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "admin/dashboard/data?hours=24");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        using var response = await router.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    private static DateTimeOffset TruncateToHour(DateTimeOffset time) => new(time.Year, time.Month, time.Day, time.Hour, 0, 0, time.Offset);

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Router.Functions.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (with Router.Functions.sln) was not found above " + AppContext.BaseDirectory);
    }
}
