using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Router.Testing.Proxy;

/// <summary>How the proxy loses the answer to a write that committed.</summary>
public enum LostAnswer
{
    /// <summary>No answer at all: the client gives up at its network timeout.</summary>
    Silence,

    /// <summary>At once, <c>500 OperationTimedOut</c>, which Azure Storage documents as "may or may not have succeeded":
    /// the same doubt for the client, with no wait on a timeout, so a test's other requests can have a long one.</summary>
    ServerTimeout,
}

/// <summary>A reverse proxy in front of a storage endpoint (Azurite) that can let a write commit and then lose its
/// answer, the way a timeout after commit looks to a client: the client retries a write that already happened.</summary>
public sealed class StorageFaultProxy : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "Host", "Content-Length",
    };

    private readonly Uri _target;
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false });
    private readonly Random _random = new(7);
    private readonly Lock _gate = new();
    private WebApplication? _app;
    private int _swallowed;

    private StorageFaultProxy(Uri target) => _target = target;

    /// <summary>The proxy's base URL with the same path as the target (e.g. <c>http://127.0.0.1:port/devstoreaccount1</c>).</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>Share of matching writes whose answer is swallowed after they committed (0–1).</summary>
    public double CommitThenTimeoutRate { get; set; }

    /// <summary>How a swallowed write's answer is lost (default: <see cref="LostAnswer.Silence"/>).</summary>
    public LostAnswer LostAnswer { get; set; } = LostAnswer.Silence;

    /// <summary>Which requests may be faulted (default: POST, i.e. table inserts).</summary>
    public Func<HttpRequest, bool> Matches { get; set; } = request => HttpMethods.IsPost(request.Method);

    /// <summary>When true, every request's connection is dropped unanswered, as when storage cannot be reached.</summary>
    public bool Unreachable { get; set; }

    /// <summary>Writes whose answer was swallowed so far.</summary>
    public int Swallowed => Volatile.Read(ref _swallowed);

    /// <summary>Starts a proxy to <paramref name="target"/> on a free loopback port.</summary>
    public static async Task<StorageFaultProxy> StartAsync(Uri target)
    {
        var proxy = new StorageFaultProxy(target);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Run(proxy.ForwardAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        proxy.Url = new Uri(address.TrimEnd('/') + target.AbsolutePath);
        proxy._app = app;
        return proxy;
    }

    /// <summary>Rewrites the endpoint of a connection string (<c>TableEndpoint=</c> etc.) to go through the proxy.</summary>
    public string Rewrite(string connectionString, string endpointName) => string.Join(';', connectionString
        .Split(';', StringSplitOptions.RemoveEmptyEntries)
        .Select(part => part.StartsWith(endpointName + "=", StringComparison.Ordinal) ? $"{endpointName}={Url}" : part)) + ";";

    private async Task ForwardAsync(HttpContext context)
    {
        if (Unreachable)
        {
            context.Abort();
            return;
        }

        var target = new Uri(new Uri(_target.GetLeftPart(UriPartial.Authority)), context.Request.Path + context.Request.QueryString);
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), target);
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            body.Position = 0;
            request.Content = new StreamContent(body);
        }

        foreach (var (name, value) in context.Request.Headers)
        {
            if (HopByHop.Contains(name))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, value.ToArray()))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, value.ToArray());
            }
        }

        using var response = await _client.SendAsync(request, context.RequestAborted);
        var payload = await response.Content.ReadAsByteArrayAsync(context.RequestAborted);

        bool swallow;
        lock (_gate)
        {
            swallow = Matches(context.Request) && Committed(response, payload) && _random.NextDouble() < CommitThenTimeoutRate;
        }

        if (swallow)
        {
            // The write has committed in storage; the client never hears so.
            Interlocked.Increment(ref _swallowed);
            if (LostAnswer == LostAnswer.ServerTimeout)
            {
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                context.Response.Headers["x-ms-error-code"] = "OperationTimedOut";
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(
                    """{"odata.error":{"code":"OperationTimedOut","message":{"lang":"en-US","value":"Operation could not be completed within the specified time."}}}""",
                    context.RequestAborted);
                return;
            }

            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHop.Contains(name))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        context.Response.ContentLength = payload.Length;
        await context.Response.Body.WriteAsync(payload, context.RequestAborted);
    }

    // An entity group transaction is answered 202 whether or not its change set committed: a failed one carries the
    // failing operation's status line inside the multipart body.
    private static bool Committed(HttpResponseMessage response, byte[] payload) =>
        response.IsSuccessStatusCode
        && !(response.Content.Headers.ContentType?.MediaType?.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase) == true
            && (payload.AsSpan().IndexOf("HTTP/1.1 4"u8) >= 0 || payload.AsSpan().IndexOf("HTTP/1.1 5"u8) >= 0));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }

        _client.Dispose();
    }
}
