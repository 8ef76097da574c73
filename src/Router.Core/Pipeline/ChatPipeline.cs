using System.Buffers;
using Microsoft.Extensions.Logging;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Execution;
using Router.Core.Routing;

namespace Router.Core.Pipeline;

/// <summary>Serves one chat completion: resolves the model, calls the provider and relays its answer.</summary>
public sealed partial class ChatPipeline(ModelCatalog catalog, IModelClient client, ILogger<ChatPipeline> logger)
{
    private static readonly TimeSpan StreamIdleTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How to configure a provider, quoted when none is configured.</summary>
    public const string ConfigureProviderHint =
        "No model provider is configured. Point the router at an OpenAI-compatible provider with environment variables, e.g. "
        + "Router__Providers__openai__Endpoint=https://api.openai.com/v1 Router__Providers__openai__ApiKey=sk-... "
        + "Router__Models__gpt-4o-mini__Provider=openai Router__Models__gpt-4o-mini__Tier=Economy (see the README section: Point it at real providers).";

    /// <summary>Runs the request and writes the answer (or an OpenAI-style error) to <paramref name="sink"/>.</summary>
    public async Task HandleAsync(RequestContext context, ChatRequest request, IResponseSink sink, CancellationToken cancellationToken)
    {
        if (catalog.IsEmpty)
        {
            await WriteErrorAsync(sink, RouterError.NoHealthyModel(ConfigureProviderHint, TimeSpan.FromSeconds(30)), cancellationToken);
            return;
        }

        if (!ModelRequest.TryResolve(catalog, request.Model, out var modelRequest, out var error))
        {
            await WriteErrorAsync(sink, error, cancellationToken);
            return;
        }

        var model = modelRequest.Pinned
            ?? catalog.InTier(modelRequest.Tier ?? ModelTier.Economy).FirstOrDefault()
            ?? catalog.Models[0];
        sink.SetHeader(RouterHeaders.Model, model.Id);
        sink.SetHeader(RouterHeaders.Tier, model.Tier.ToWire());

        var body = UpstreamBodyWriter.Write(request, model.UpstreamModel);
        await using var response = await client.SendAsync(new UpstreamRequest(model, body, request.Stream, context.RequestId), cancellationToken);
        if (response.Failure != UpstreamFailure.None)
        {
            Log.AttemptFailed(logger, context.RequestId, model.Id, response.Failure.ToString());
            var message = $"Every candidate failed. Tried: {model.Id} ({response.FailureDetail}).";
            await WriteErrorAsync(
                sink,
                response.Failure == UpstreamFailure.Timeout ? RouterError.UpstreamTimeout(message) : RouterError.UpstreamFailed(message),
                cancellationToken);
            return;
        }

        if (!response.IsSuccess)
        {
            Log.AttemptFailed(logger, context.RequestId, model.Id, response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (IsClientError(response.StatusCode))
            {
                // The provider rejected the request itself; the client needs its exact answer.
                await sink.WriteJsonAsync(response.StatusCode, await ReadAllAsync(response.Content, cancellationToken), cancellationToken);
                return;
            }

            await WriteErrorAsync(
                sink,
                RouterError.UpstreamFailed($"Every candidate failed. Tried: {model.Id} (HTTP {response.StatusCode})."),
                cancellationToken);
            return;
        }

        if (!request.Stream)
        {
            await sink.WriteJsonAsync(200, await ReadAllAsync(response.Content, cancellationToken), cancellationToken);
            return;
        }

        await sink.StartEventStreamAsync(cancellationToken);
        var relay = await SseRelay.RelayAsync(response.Content, sink, request.IncludeUsage == true, StreamIdleTimeout, cancellationToken);
        if (relay.End is StreamEnd.Cut or StreamEnd.IdleTimeout)
        {
            Log.StreamBroken(logger, context.RequestId, model.Id, relay.End.ToString(), relay.EventsForwarded);
            var message = relay.End == StreamEnd.Cut
                ? $"The provider's stream from {model.Id} ended before it was complete."
                : $"The provider's stream from {model.Id} stalled for {StreamIdleTimeout.TotalSeconds:0} s.";
            await sink.WriteEventAsync(SseRelay.ErrorEvent("stream_interrupted", message), CancellationToken.None);
        }
    }

    private static bool IsClientError(int status) => status is >= 400 and < 500 and not 408 and not 429;

    private static async Task<ReadOnlyMemory<byte>> ReadAllAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var memory = buffer.GetMemory(4096);
            var read = await stream.ReadAsync(memory, cancellationToken);
            if (read == 0)
            {
                return buffer.WrittenMemory;
            }

            buffer.Advance(read);
        }
    }

    private static Task WriteErrorAsync(IResponseSink sink, RouterError error, CancellationToken cancellationToken)
    {
        if (error.RetryAfter is { } retryAfter)
        {
            sink.SetHeader("Retry-After", Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return sink.WriteJsonAsync(error.Status, ErrorEnvelope.Serialize(error), cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Request {RequestId}: attempt on {Model} failed ({Reason})")]
        public static partial void AttemptFailed(ILogger logger, string requestId, string model, string reason);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Request {RequestId}: stream from {Model} ended with {End} after {Events} events")]
        public static partial void StreamBroken(ILogger logger, string requestId, string model, string end, int events);
    }
}
