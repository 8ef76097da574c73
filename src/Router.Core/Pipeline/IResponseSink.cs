namespace Router.Core.Pipeline;

/// <summary>Where the pipeline writes its answer; the HTTP layer implements it over the response.</summary>
public interface IResponseSink
{
    /// <summary>True once the status and headers have been sent.</summary>
    bool HasStarted { get; }

    /// <summary>Sets a response header; ignored after the response has started.</summary>
    void SetHeader(string name, string value);

    /// <summary>Writes a complete JSON response.</summary>
    Task WriteJsonAsync(int statusCode, ReadOnlyMemory<byte> json, CancellationToken cancellationToken);

    /// <summary>Sends 200 with <c>text/event-stream</c> headers; chunks follow.</summary>
    Task StartEventStreamAsync(CancellationToken cancellationToken);

    /// <summary>Writes raw event-stream bytes and flushes them to the client.</summary>
    Task WriteEventAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken);
}
