using Router.Core.Catalog;

namespace Router.Core.Execution;

/// <summary>Sends one chat completion attempt to a provider; never retries (the router's execution policy owns retries).</summary>
public interface IModelClient
{
    /// <summary>
    /// Sends <paramref name="request"/>; transport failures come back as a failed <see cref="UpstreamResponse"/>, not as
    /// exceptions. <paramref name="cancellationToken"/> carries the attempt's deadline as well as the caller's
    /// cancellation (the executor arms it with the attempt timeout); when it fires before the response headers arrive,
    /// the call throws <see cref="OperationCanceledException"/> and the executor decides what the cancellation meant.
    /// </summary>
    Task<UpstreamResponse> SendAsync(UpstreamRequest request, CancellationToken cancellationToken);
}

/// <summary>One upstream attempt: the model to call and the body to send (already rewritten for it).</summary>
/// <param name="Model">The catalog model.</param>
/// <param name="Body">The JSON body to send.</param>
/// <param name="Stream">Whether the body asks for server-sent events.</param>
/// <param name="RequestId">The router's request id, forwarded as <c>x-request-id</c>.</param>
public sealed record UpstreamRequest(CatalogModel Model, ReadOnlyMemory<byte> Body, bool Stream, string RequestId);

/// <summary>Why an attempt produced no HTTP response.</summary>
public enum UpstreamFailure
{
    /// <summary>A response arrived (its status may still be an error).</summary>
    None = 0,

    /// <summary>The connection could not be made (DNS, refused, TLS).</summary>
    Unreachable,

    /// <summary>No response headers within a deadline the client enforces itself. The router's own client does not: the executor's
    /// attempt deadline cancels its call, and the executor records that attempt as a timeout.</summary>
    Timeout,

    /// <summary>The connection broke while the request or response headers were in flight.</summary>
    ConnectionReset,
}

/// <summary>The provider's answer to one attempt; owns the response stream until disposed.</summary>
public sealed class UpstreamResponse : IAsyncDisposable
{
    private readonly IDisposable? _owner;

    /// <summary>Creates a response that arrived.</summary>
    public UpstreamResponse(int statusCode, Stream content, string? contentType, TimeSpan? retryAfter, IDisposable? owner)
    {
        StatusCode = statusCode;
        Content = content;
        ContentType = contentType;
        RetryAfter = retryAfter;
        _owner = owner;
    }

    private UpstreamResponse(UpstreamFailure failure, string detail)
    {
        Failure = failure;
        FailureDetail = detail;
        Content = Stream.Null;
    }

    /// <summary>A transport failure with no response.</summary>
    public static UpstreamResponse Failed(UpstreamFailure failure, string detail) => new(failure, detail);

    /// <summary>HTTP status, 0 when <see cref="Failure"/> is set.</summary>
    public int StatusCode { get; }

    /// <summary>Transport failure, if any.</summary>
    public UpstreamFailure Failure { get; }

    /// <summary>Short description of the failure, safe to show to clients (no secrets).</summary>
    public string? FailureDetail { get; }

    /// <summary>The response body stream.</summary>
    public Stream Content { get; }

    /// <summary>The response content type.</summary>
    public string? ContentType { get; }

    /// <summary>Delay the provider asked for (<c>Retry-After</c>, <c>retry-after-ms</c>, <c>x-ms-retry-after-ms</c>).</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>True for a 2xx response.</summary>
    public bool IsSuccess => Failure == UpstreamFailure.None && StatusCode is >= 200 and < 300;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Content.DisposeAsync();
        _owner?.Dispose();
    }
}
