using System.Net;
using System.Text;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Auth;

/// <summary>
/// The keyless <c>local</c> tenant is for a developer's own processes on the machine. A connection from loopback is not
/// always one: a web page in the developer's browser can post to <c>127.0.0.1</c> without a CORS preflight, a page on a
/// rebound DNS name reaches it under its own host name, and a reverse proxy on the same host relays remote clients.
/// None of them should be served (and spend the configured providers' money) as <c>local</c>.
/// </summary>
public sealed class AnonymousLoopbackTenantTests : IAsyncLifetime
{
    private SimulatedProvider _simulator = null!;
    private RouterServerHost _router = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatedProvider.StartAsync();
        _router = await RouterServerHost.StartAsync(RouterServerHost.SimulatedCatalog(_simulator));
    }

    public async Task DisposeAsync()
    {
        await _router.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    [Fact]
    public async Task A_cross_site_text_plain_post_from_a_web_page_is_not_served_as_the_local_tenant()
    {
        // What any web page can make the browser send to 127.0.0.1 without a CORS preflight: a "simple" request with
        // Content-Type text/plain, the page's Origin and no key. The browser hides the answer from the page, but the
        // provider call is made and paid for all the same. (RouterError.UnsupportedMediaType exists but is never used.)
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent(TestJson.Chat("sim-large", "Write a long essay on the history of the printing press"), Encoding.UTF8, "text/plain"),
        };
        request.Headers.Add("Origin", "https://attacker.example");

        using var response = await _router.Http.SendAsync(request);

        Assert.InRange((int)response.StatusCode, 400, 499);
        Assert.Equal(0, _simulator.Answered());
    }

    [Fact]
    public async Task A_request_for_a_foreign_host_name_a_dns_rebinding_page_is_not_served_as_the_local_tenant()
    {
        // A page on rebind.attacker.example whose DNS name now resolves to 127.0.0.1 is same-origin with the router as
        // far as the browser is concerned: it can read every answer, the tenant's usage included. Only the Host header
        // tells such a request apart from the developer's own.
        using var chat = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(TestJson.Chat("sim-small", "Summarise the plot of Hamlet in one line")) };
        chat.Headers.Host = "rebind.attacker.example:" + _router.BaseUrl.Port;
        using var usage = new HttpRequestMessage(HttpMethod.Get, "v1/usage");
        usage.Headers.Host = "rebind.attacker.example:" + _router.BaseUrl.Port;

        using var chatResponse = await _router.Http.SendAsync(chat);
        using var usageResponse = await _router.Http.SendAsync(usage);

        Assert.InRange((int)chatResponse.StatusCode, 400, 499);
        Assert.InRange((int)usageResponse.StatusCode, 400, 499);
        Assert.Equal(0, _simulator.Answered());
    }

    [Fact]
    public async Task A_request_a_reverse_proxy_relays_from_a_remote_client_needs_a_key()
    {
        // The router bound to loopback behind nginx or Caddy on the same host: every remote client's request arrives from
        // 127.0.0.1, carrying the client's address in X-Forwarded-For / Forwarded. It is not the developer's process.
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(TestJson.Chat("sim-small", "Translate good morning into French")) };
        request.Headers.Add("X-Forwarded-For", "203.0.113.7");
        request.Headers.Add("Forwarded", "for=203.0.113.7;proto=https");

        using var response = await _router.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(0, _simulator.Answered());
    }

    [Fact]
    public async Task The_developers_own_requests_are_still_served_without_a_key()
    {
        // curl with no key; an SDK with any key string; a page the developer serves from loopback; the name localhost
        // and any 127.x address; a same-origin fetch. Refused ones are logged with the reason, never the header values.
        var port = _router.BaseUrl.Port;
        var served = new List<HttpStatusCode>();
        foreach (var (host, headers) in new (string? Host, (string Name, string Value)[] Headers)[]
        {
            (null, []),
            (null, [("Authorization", "Bearer any-key-on-loopback")]),
            ("localhost:" + port, [("Origin", "http://localhost:3000"), ("Sec-Fetch-Site", "same-site")]),
            ("127.0.0.1:" + port, [("Origin", "http://127.0.0.1:5173"), ("Sec-Fetch-Site", "cross-site")]),
            ("127.0.0.2:" + port, [("Sec-Fetch-Site", "same-origin")]),
            ("[::1]:" + port, [("Origin", "http://[::1]:8080")]),
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(TestJson.Chat("sim-small", "Say hello")) };
            if (host is not null)
            {
                request.Headers.Host = host;
            }

            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await _router.Http.SendAsync(request);
            served.Add(response.StatusCode);
        }

        Assert.All(served, status => Assert.Equal(HttpStatusCode.OK, status));

        using var refused = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        refused.Headers.Add("Origin", "null");
        using var refusedResponse = await _router.Http.SendAsync(refused);
        Assert.Equal(HttpStatusCode.Unauthorized, refusedResponse.StatusCode);
        Assert.Contains(_router.LogLines, line => line.Contains("WebPage", StringComparison.Ordinal));
    }
}
