using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Router.Core.Catalog;
using Router.Core.Execution;

namespace Router.Infrastructure.Providers;

/// <summary>Calls OpenAI-compatible and Azure OpenAI chat completion endpoints over HTTP, one attempt per call,
/// forwarding the prepared body as is.</summary>
internal sealed class OpenAICompatibleModelClient(
    IHttpClientFactory httpClientFactory,
    IProviderCredentials credentials,
    TimeProvider time) : IModelClient
{
    /// <summary>Name of the <see cref="HttpClient"/> used for provider calls.</summary>
    public const string HttpClientName = "router-upstream";

    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    // Each catalog model's endpoint, built once: catalog entries are immutable, and one rebuilt by a reload is a new key.
    private static readonly ConditionalWeakTable<CatalogModel, Uri> CompletionsUris = new();

    public async Task<UpstreamResponse> SendAsync(UpstreamRequest request, CancellationToken cancellationToken)
    {
        var provider = request.Model.Provider;
        using var message = new HttpRequestMessage(HttpMethod.Post, CompletionsUris.GetValue(request.Model, static model => ChatCompletionsUri(model.Provider, model.UpstreamModel)))
        {
            Content = new ReadOnlyMemoryContent(request.Body),
            Version = HttpVersion.Version11,
        };
        message.Content.Headers.ContentType = JsonContentType;
        message.Headers.TryAddWithoutValidation("x-request-id", request.RequestId);
        if (request.Stream)
        {
            message.Headers.Accept.ParseAdd("text/event-stream");
        }

        await credentials.ApplyAsync(provider, message, cancellationToken);

        HttpResponseMessage response;
        try
        {
            // The caller's token carries the attempt's deadline (ChatExecutor arms it with Router:Execution:AttemptTimeout).
            response = await httpClientFactory.CreateClient(HttpClientName)
                .SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            return UpstreamResponse.Failed(Classify(ex), Describe(ex));
        }

        Stream content;
        try
        {
            content = await response.Content.ReadAsStreamAsync(cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            response.Dispose();
            return UpstreamResponse.Failed(UpstreamFailure.ConnectionReset, Describe(ex));
        }

        return new UpstreamResponse(
            (int)response.StatusCode,
            content,
            response.Content.Headers.ContentType?.MediaType,
            RetryAfter(response, time.GetUtcNow()),
            response);
    }

    internal static Uri ChatCompletionsUri(ProviderDescriptor provider, string upstreamModel)
    {
        var baseUri = provider.Endpoint.AbsoluteUri.TrimEnd('/');
        return provider.Type == ProviderType.AzureOpenAI
            ? new Uri($"{baseUri}/openai/deployments/{Uri.EscapeDataString(upstreamModel)}/chat/completions?api-version={Uri.EscapeDataString(provider.ApiVersion)}")
            : new Uri(baseUri + "/chat/completions");
    }

    /// <summary>Reads <c>retry-after-ms</c>, <c>x-ms-retry-after-ms</c> and <c>Retry-After</c> (seconds or a date), in that order.</summary>
    internal static TimeSpan? RetryAfter(HttpResponseMessage response, DateTimeOffset now) =>
        RetryAfterHeader.Read(name => response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null, now);

    private static UpstreamFailure Classify(HttpRequestException ex) => ex.HttpRequestError switch
    {
        HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError => UpstreamFailure.Unreachable,
        HttpRequestError.ConnectionError when ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.TimedOut } => UpstreamFailure.Unreachable,
        _ => UpstreamFailure.ConnectionReset,
    };

    private static string Describe(HttpRequestException ex) => ex.HttpRequestError switch
    {
        HttpRequestError.NameResolutionError => "host name not found",
        HttpRequestError.SecureConnectionError => "TLS handshake failed",
        HttpRequestError.ConnectionError when ex.InnerException is SocketException socket => "connection failed: " + socket.SocketErrorCode,
        HttpRequestError.ConnectionError => "connection failed",
        HttpRequestError.ResponseEnded => "connection closed before the response",
        _ => "transport error: " + ex.HttpRequestError,
    };
}
