using System.Net;
using System.Net.Http.Headers;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Routing;

/// <summary>/v1/route runs the same analysis, embedding and cache read as a chat request, for the same key.</summary>
public sealed class RoutePreviewLimitsTests
{
    private const string TenantKey = "route-limits-key-0001";

    [Fact]
    public async Task A_key_past_its_requests_per_minute_limit_gets_no_more_analyses_through_route()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Tenants:limited:RequestsPerMinute"] = "1";
        settings["Router:ApiKeys:0:Tenant"] = "limited";
        settings["Router:ApiKeys:0:Key"] = TenantKey;
        await using var router = await RouterServerHost.StartAsync(settings);
        var body = TestJson.Chat("auto", "Explain how a hash map resolves collisions");

        using var first = await PostAsync(router, "v1/chat/completions", body);
        using var limited = await PostAsync(router, "v1/chat/completions", body);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);

        // The README: "a key past its limit costs the router no analysis or embedding". Through /v1/route the same key
        // still gets a full analysis, an embedding and a cache read per request, as many as it cares to send.
        var previews = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var preview = await PostAsync(router, "v1/route", TestJson.Chat("auto", $"Explain how a hash map resolves collisions, take {i}"));
            previews.Add(preview.StatusCode);
        }

        Assert.All(previews, status => Assert.Equal(HttpStatusCode.TooManyRequests, status));
    }

    [Fact]
    public async Task A_key_past_its_requests_per_minute_limit_gets_no_usage_report_either()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Tenants:limited:RequestsPerMinute"] = "2";
        settings["Router:ApiKeys:0:Tenant"] = "limited";
        settings["Router:ApiKeys:0:Key"] = TenantKey;
        await using var router = await RouterServerHost.StartAsync(settings);

        // A year of rows per report: without the limit, one key could send as many such reads as it liked.
        var reports = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "v1/usage?from=2026-01-01&to=2026-12-31");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TenantKey);
            using var report = await router.Http.SendAsync(request);
            reports.Add(report.StatusCode);
            if (report.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.True(report.Headers.RetryAfter is not null, "a 429 without Retry-After");
                Assert.Contains("rate_limit_exceeded", await report.Content.ReadAsStringAsync());
            }
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], reports);
    }

    private static async Task<HttpResponseMessage> PostAsync(RouterServerHost router, string path, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = TestJson.Body(json) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TenantKey);
        return await router.Http.SendAsync(request);
    }
}
