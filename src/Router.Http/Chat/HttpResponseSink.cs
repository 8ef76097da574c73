using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Router.Core.Pipeline;

namespace Router.Http.Chat;

/// <summary>Writes the pipeline's answer to an ASP.NET Core response, flushing each streamed event as it is written.</summary>
internal sealed class HttpResponseSink(HttpResponse response) : IResponseSink
{
    public bool HasStarted => response.HasStarted;

    public void SetHeader(string name, string value)
    {
        if (!response.HasStarted)
        {
            response.Headers[name] = value;
        }
    }

    public async Task WriteJsonAsync(int statusCode, ReadOnlyMemory<byte> json, CancellationToken cancellationToken)
    {
        if (response.HasStarted)
        {
            return;
        }

        response.StatusCode = statusCode;
        response.ContentType = "application/json";
        response.ContentLength = json.Length;
        await response.Body.WriteAsync(json, cancellationToken);
    }

    public async Task StartEventStreamAsync(CancellationToken cancellationToken)
    {
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        response.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    public async Task WriteEventAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(bytes, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
