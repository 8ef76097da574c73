using System.Buffers;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Router.Core.Chat;
using Router.Http;
using Router.Http.Errors;

namespace Router.Server;

/// <summary>
/// Enforces <see cref="RouterServerOptions"/>' request line and header limits with an OpenAI-style 414 or 431, where
/// Kestrel, at its own limits, would answer before any middleware runs and with no body. Sizes are counted as Kestrel
/// counts them, from the strings it has already parsed; the normal path allocates nothing.
/// </summary>
internal sealed class RequestHeaderLimits(RequestDelegate next, IOptions<RouterServerOptions> options, TimeProvider time)
{
    private readonly RouterServerOptions _limits = options.Value;

    public Task InvokeAsync(HttpContext context)
    {
        var error = Check(context, _limits);
        if (error is null)
        {
            return next(context);
        }

        RouterHttpContext.Begin(context, time);
        return ErrorResponse.WriteAsync(context, error);
    }

    internal static RouterError? Check(HttpContext context, RouterServerOptions limits)
    {
        var request = context.Request;

        // Method SP target SP version CRLF.
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value ?? "";
        var line = request.Method.Length + target.Length + request.Protocol.Length + 4;
        if (line > limits.MaxRequestLineBytes)
        {
            return RouterError.RequestLineTooLong(line, limits.MaxRequestLineBytes, RouterServerOptions.Section + ":" + nameof(RouterServerOptions.MaxRequestLineBytes));
        }

        // Repeated header lines share one entry, so more entries than the limit means more lines too.
        var headers = request.Headers;
        var count = headers.Count;
        if (count > limits.MaxRequestHeaderCount)
        {
            return TooMany(count, limits);
        }

        // Copied into a pooled array: enumerating the header dictionary through its interface would allocate.
        var entries = ArrayPool<KeyValuePair<string, StringValues>>.Shared.Rent(count);
        try
        {
            headers.CopyTo(entries, 0);
            var lines = 0;
            var total = 2L;   // the empty line that ends the headers
            var largest = 0;
            var largestBytes = 0L;
            for (var i = 0; i < count; i++)
            {
                // Each line is "name: value" CRLF.
                var (name, values) = entries[i];
                var bytes = 0L;
                foreach (var value in values)
                {
                    bytes += name.Length + (value?.Length ?? 0) + 4;
                }

                lines += values.Count;
                total += bytes;
                if (bytes > largestBytes)
                {
                    largest = i;
                    largestBytes = bytes;
                }
            }

            if (lines > limits.MaxRequestHeaderCount)
            {
                return TooMany(lines, limits);
            }

            return total > limits.MaxRequestHeadersTotalBytes
                ? RouterError.RequestHeadersTooLarge(total, limits.MaxRequestHeadersTotalBytes,
                    RouterServerOptions.Section + ":" + nameof(RouterServerOptions.MaxRequestHeadersTotalBytes), entries[largest].Key, largestBytes)
                : null;
        }
        finally
        {
            // Cleared so the pool keeps no header values (keys among them) alive.
            ArrayPool<KeyValuePair<string, StringValues>>.Shared.Return(entries, clearArray: true);
        }
    }

    private static RouterError TooMany(int count, RouterServerOptions limits) =>
        RouterError.TooManyRequestHeaders(count, limits.MaxRequestHeaderCount, RouterServerOptions.Section + ":" + nameof(RouterServerOptions.MaxRequestHeaderCount));
}
