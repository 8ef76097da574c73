using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Server;

public sealed class RequestLimitsFixture : IAsyncLifetime
{
    /// <summary>Above Kestrel's own default body limit (30,000,000 bytes), so the router's setting is what decides.</summary>
    public const int BodyLimit = 32 * 1024 * 1024;

    public const string AdminKey = "admin-key-request-limits";

    public SimulatedProvider Simulator { get; private set; } = null!;

    public RouterServerHost Router { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(Simulator);
        settings["Router:MaxRequestBodyBytes"] = BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Router:AdminKey"] = AdminKey;

        // A body that sends less than 100 bytes a second after a 2 s grace period times out (Kestrel: 240 after 5 s).
        Router = await RouterServerHost.StartAsync(settings, builder => builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 100, gracePeriod: TimeSpan.FromSeconds(2))));
    }

    public async Task DisposeAsync()
    {
        await Router.DisposeAsync();
        await Simulator.DisposeAsync();
    }
}

public sealed class RequestLimitsTests(RequestLimitsFixture fixture) : IClassFixture<RequestLimitsFixture>
{
    private RouterServerHost Router => fixture.Router;

    [Fact]
    public async Task Headers_over_the_total_size_limit_get_a_431_in_openai_shape_naming_the_limit()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        request.Headers.Add("x-padding", new string('a', 40 * 1024));

        using var response = await Router.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        var error = await TestJson.ErrorAsync(response);
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal("request_headers_too_large", error["code"]!.GetValue<string>());
        var message = error["message"]!.GetValue<string>();
        Assert.Contains("32768 bytes", message, StringComparison.Ordinal);
        Assert.Contains("x-padding", message, StringComparison.Ordinal);
        Assert.DoesNotContain("aaaa", message, StringComparison.Ordinal);
        Assert.True(response.Headers.Contains("x-router-request-id"));
        await AssertServesNextRequestAsync();
    }

    [Fact]
    public async Task Too_many_headers_get_a_431_in_openai_shape_naming_the_limit()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        for (var i = 0; i < 150; i++)
        {
            request.Headers.Add($"x-h{i}", "1");
        }

        using var response = await Router.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        var error = await TestJson.ErrorAsync(response);
        Assert.Equal("request_headers_too_large", error["code"]!.GetValue<string>());
        Assert.Contains("100 headers", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        await AssertServesNextRequestAsync();
    }

    [Fact]
    public async Task A_request_line_over_the_limit_gets_a_414_in_openai_shape_naming_the_limit()
    {
        using var response = await Router.Http.GetAsync("v1/usage?group_by=day&x=" + new string('q', 10 * 1024));

        Assert.Equal(HttpStatusCode.RequestUriTooLong, response.StatusCode);
        var error = await TestJson.ErrorAsync(response);
        Assert.Equal("uri_too_long", error["code"]!.GetValue<string>());
        Assert.Contains("8192 bytes", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        await AssertServesNextRequestAsync();
    }

    [Fact]
    public async Task The_routers_body_limit_holds_above_kestrels_default_with_or_without_content_length()
    {
        // 31,000,000 bytes: past Kestrel's built-in 30,000,000, under Router:MaxRequestBodyBytes (32 MiB).
        var body = PaddedChat(31_000_000);

        using var withLength = await Router.Http.PostAsync("v1/route", Json(new ByteArrayContent(body)));
        using var chunked = new HttpRequestMessage(HttpMethod.Post, "v1/route") { Content = Json(new StreamContent(new MemoryStream(body))) };
        chunked.Headers.TransferEncodingChunked = true;
        using var withoutLength = await Router.Http.SendAsync(chunked);

        foreach (var response in new[] { withLength, withoutLength })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("sim-small", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["decision"]!["model"]!.GetValue<string>());
        }

        using var over = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = Json(new StreamContent(new MemoryStream(PaddedChat(RequestLimitsFixture.BodyLimit + 1024)))),
        };
        over.Headers.TransferEncodingChunked = true;
        using var refused = await Router.Http.SendAsync(over);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        var error = await TestJson.ErrorAsync(refused);
        Assert.Equal("request_too_large", error["code"]!.GetValue<string>());
        Assert.Contains($"limit of {RequestLimitsFixture.BodyLimit} bytes", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        await AssertServesNextRequestAsync();
    }

    [Fact]
    public async Task An_admin_body_over_its_fixed_limit_gets_a_413_that_names_no_setting()
    {
        var body = "{\"tenant\": \"acme\", \"name\": \"" + new string('n', 300 * 1024) + "\"}";

        using var response = await TestJson.PostAsync(Router.Http, "admin/keys", body, RequestLimitsFixture.AdminKey);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var message = (await TestJson.ErrorAsync(response))["message"]!.GetValue<string>();
        Assert.Contains("limit of 262144 bytes", message, StringComparison.Ordinal);
        Assert.DoesNotContain("MaxRequestBodyBytes", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_that_stalls_gets_a_408_in_openai_shape()
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(Router.BaseUrl.Host, Router.BaseUrl.Port);
        var stream = socket.GetStream();
        var head = $"POST /v1/chat/completions HTTP/1.1\r\nHost: {Router.BaseUrl.Authority}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"model\":";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));

        // Nothing more is sent: after the grace period the rate is far below the minimum.
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await ReadResponseAsync(reader).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.StartsWith("HTTP/1.1 408", response, StringComparison.Ordinal);
        var error = JsonNode.Parse(response[response.IndexOf("\r\n\r\n", StringComparison.Ordinal)..])!["error"]!;
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal("request_timeout", error["code"]!.GetValue<string>());
        Assert.Contains("too slowly", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(Router.LogLines, l => l.Contains("BadHttpRequestException", StringComparison.Ordinal));
        await AssertServesNextRequestAsync();
    }

    // A fresh client, so the request goes over a new connection.
    private async Task AssertServesNextRequestAsync()
    {
        using var http = new HttpClient { BaseAddress = Router.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.GetAsync("v1/models");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // Status line, headers and a body of the Content-Length they give.
    private static async Task<string> ReadResponseAsync(StreamReader reader)
    {
        var head = new StringBuilder();
        var length = 0;
        while (await reader.ReadLineAsync() is { Length: > 0 } line)
        {
            head.Append(line).Append("\r\n");
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                length = int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        var body = new char[length];
        await reader.ReadBlockAsync(body);
        return head.Append("\r\n").Append(body).ToString();
    }

    private static HttpContent Json(HttpContent content)
    {
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return content;
    }

    // A valid chat request of exactly size bytes: whitespace fills it up before the closing brace.
    private static byte[] PaddedChat(int size)
    {
        var head = Encoding.UTF8.GetBytes(TestJson.Chat("sim-small", "What is the capital of France?").TrimEnd('}'));
        var body = new byte[size];
        head.CopyTo(body, 0);
        body.AsSpan(head.Length, size - head.Length - 1).Fill((byte)' ');
        body[^1] = (byte)'}';
        return body;
    }
}
