using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Router.Core.Chat;

namespace Router.Http.Chat;

/// <summary>A request body read into a pooled buffer, refused with 413 as soon as it passes the limit.</summary>
internal sealed class RequestBody : IDisposable
{
    private byte[] _buffer;

    private RequestBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    /// <summary>Reads the body up to <paramref name="limit"/> bytes; <paramref name="setting"/> names the setting that
    /// configures the limit in a 413, null for a fixed limit.</summary>
    public static async Task<(RequestBody? Body, RouterError? Error)> ReadAsync(HttpRequest request, int limit, string? setting, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return (null, RouterError.RequestTooLarge(limit, setting));
        }

        // Kestrel counts the body against its own limit (30,000,000 bytes unless configured) as it is read: make that
        // limit the router's, so a larger setting is honoured and an over-large body is refused naming the setting.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } kestrelLimit)
        {
            kestrelLimit.MaxRequestBodySize = limit;
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(request.ContentLength ?? 16 * 1024, limit) + 1);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > limit)
                    {
                        break;
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, limit + 1));
                    Buffer.BlockCopy(buffer, 0, larger, 0, length);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > limit)
                {
                    break;
                }
            }
        }
        catch (BadHttpRequestException ex)
        {
            // The body ended before its declared length or was malformed on the wire (a client that went away while
            // sending, most often), passed the limit, or arrived too slowly: the client's fault, answered if it still
            // listens, not a server error.
            ArrayPool<byte>.Shared.Return(buffer);
            return (null, ex.StatusCode switch
            {
                StatusCodes.Status413PayloadTooLarge => RouterError.RequestTooLarge(limit, setting),
                StatusCodes.Status408RequestTimeout => RouterError.RequestBodyTimeout(
                    request.HttpContext.Features.Get<IHttpMinRequestBodyDataRateFeature>()?.MinDataRate?.BytesPerSecond),
                _ => RouterError.InvalidRequest("The request body could not be read: " + ex.Message, code: "invalid_body"),
            });
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        if (length > limit)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return (null, RouterError.RequestTooLarge(limit, setting));
        }

        return (new RequestBody(buffer, length), null);
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
