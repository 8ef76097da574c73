using System.Buffers;
using System.Text;
using Router.Core.Chat;
using Router.Core.Pipeline;

namespace Router.Core.Execution;

/// <summary>How a relayed stream ended.</summary>
public enum StreamEnd
{
    /// <summary>The provider sent <c>data: [DONE]</c>.</summary>
    Done,

    /// <summary>The provider's stream ended or broke before <c>[DONE]</c>.</summary>
    Cut,

    /// <summary>No bytes arrived within the idle timeout.</summary>
    IdleTimeout,

    /// <summary>The provider sent an event larger than <see cref="ExecutionOptions.MaxResponseBytes"/>.</summary>
    EventTooLarge,

    /// <summary>The client went away (its cancellation fired, or a write to it failed) before the stream ended.</summary>
    ClientClosed,
}

/// <summary>What the relay saw while forwarding a stream.</summary>
/// <param name="End">How the stream ended.</param>
/// <param name="EventsForwarded">Events written to the client.</param>
/// <param name="Usage">Usage from the provider's final chunk, if any.</param>
/// <param name="FinishReason">The last finish reason seen.</param>
/// <param name="Content">The concatenated deltas (bounded).</param>
/// <param name="ProviderError">The provider sent an error inside the stream (an <c>event: error</c>, or a data payload
/// with a top-level <c>error</c>, as vLLM and others end a generation that failed): what was relayed is not a whole answer.</param>
public sealed record StreamRelayResult(StreamEnd End, int EventsForwarded, TokenUsage? Usage, string? FinishReason, string Content, bool ProviderError = false)
{
    /// <summary>Some delta carried more than text (see <see cref="CompletionSummary.MessageExtras"/>).</summary>
    public bool MessageExtras { get; init; }

    /// <summary>What the stream generated besides <see cref="Content"/> (bounded): the deltas of further choices in a chunk,
    /// refusals, reasoning, and tool-call names and arguments (see <see cref="CompletionSummary.ExtraText"/>).</summary>
    public string ExtraText { get; init; } = "";

    /// <summary>Everything the stream generated: what is counted when the provider reports no usage.</summary>
    public string BillableText => string.Concat(Content, ExtraText);
}

/// <summary>What an event says to a stream that has not reached the client yet.</summary>
internal enum SseEventKind
{
    /// <summary>No data: a comment such as <c>: keep-alive</c>, or bare fields.</summary>
    NoData,

    /// <summary>A chunk with at least one choice: the answer has begun.</summary>
    Choice,

    /// <summary>A chunk without a choice (Azure OpenAI's prompt filter results, a usage chunk).</summary>
    NoChoice,

    /// <summary>An <c>event: error</c>, or data with a top-level <c>error</c>.</summary>
    Error,

    /// <summary><c>data: [DONE]</c>.</summary>
    Done,

    /// <summary>Data that is no JSON chunk (a proxy's plain-text error).</summary>
    NotChunk,
}

/// <summary>Forwards a provider's server-sent events to the client event by event, as they arrive, reading usage
/// and content on the way. Never invents a <c>[DONE]</c>.</summary>
public static class SseRelay
{
    private const int MaxContentChars = 1 << 20;

    /// <summary>Relays events from <paramref name="reader"/> to <paramref name="sink"/>; the caller has started the event stream.</summary>
    /// <param name="reader">The provider's events.</param>
    /// <param name="sink">The client.</param>
    /// <param name="forwardUsageChunk">Whether the usage-only chunk is forwarded (the client asked for usage).</param>
    /// <param name="beforeDone">Bytes written just before <c>[DONE]</c> (e.g. an SSE comment with the final cost), or null;
    /// after a provider error neither is written.</param>
    /// <param name="cancellationToken">The client's cancellation.</param>
    public static async Task<StreamRelayResult> RelayAsync(
        SseEventReader reader, IResponseSink sink, bool forwardUsageChunk, Func<StreamRelayResult, ReadOnlyMemory<byte>>? beforeDone,
        CancellationToken cancellationToken)
    {
        var forwarded = 0;
        TokenUsage? usage = null;
        string? finish = null;
        var providerError = false;
        var extras = false;
        var content = new StringBuilder();
        var generated = new StringBuilder();
        try
        {
            return await RelayCoreAsync();
        }
        catch (Exception ex) when (ex is OperationCanceledException && cancellationToken.IsCancellationRequested || ex is IOException)
        {
            // What was streamed before the client left is what gets billed, so the relay reports it instead of throwing. A
            // client can leave without a cancellation: its connection breaks under a write (the reader turns the provider's
            // I/O errors into a broken stream, so an IOException here is the client's).
            return new StreamRelayResult(StreamEnd.ClientClosed, forwarded, usage, finish, content.ToString(), providerError) { MessageExtras = extras, ExtraText = generated.ToString() };
        }

        async Task<StreamRelayResult> RelayCoreAsync()
        {
            while (true)
            {
                var (status, evt) = await reader.ReadAsync(cancellationToken);
                if (status != SseReadStatus.Event)
                {
                    var end = status switch
                    {
                        SseReadStatus.IdleTimeout => StreamEnd.IdleTimeout,
                        SseReadStatus.EventTooLarge => StreamEnd.EventTooLarge,
                        _ => StreamEnd.Cut,
                    };
                    return new StreamRelayResult(end, forwarded, usage, finish, content.ToString(), providerError) { MessageExtras = extras, ExtraText = generated.ToString() };
                }

                var kind = Inspect(evt.Span, ref usage, ref finish, ref providerError, ref extras, content, generated);
                if (kind == EventKind.UsageOnly && !forwardUsageChunk)
                {
                    continue;
                }

                if (kind == EventKind.Done)
                {
                    var result = new StreamRelayResult(StreamEnd.Done, forwarded + 1, usage, finish, content.ToString(), providerError) { MessageExtras = extras, ExtraText = generated.ToString() };
                    if (providerError)
                    {
                        // A stream that failed does not end as if it were whole: the provider's [DONE] (and the trailer before
                        // it) is held back, and the caller ends the stream with an error event.
                        return result with { EventsForwarded = forwarded };
                    }

                    if (beforeDone?.Invoke(result) is { IsEmpty: false } trailer)
                    {
                        await sink.WriteEventAsync(trailer, cancellationToken);
                    }

                    await sink.WriteEventAsync(evt, cancellationToken);
                    return result;
                }

                await sink.WriteEventAsync(evt, cancellationToken);
                forwarded++;
            }
        }
    }

    /// <summary>What an event that may open a stream says, read as an SSE client reads it; the executor commits a stream
    /// to the client at its first <see cref="SseEventKind.Choice"/>.</summary>
    internal static SseEventKind Classify(ReadOnlySpan<byte> evt)
    {
        var data = Data(evt, out var errorEvent, out var rented);
        try
        {
            if (data.IsEmpty)
            {
                return SseEventKind.NoData;
            }

            if (errorEvent || CompletionReader.IsErrorPayload(data))
            {
                return SseEventKind.Error;
            }

            if (data.SequenceEqual("[DONE]"u8))
            {
                return SseEventKind.Done;
            }

            return !CompletionReader.TryRead(data, out var chunk) ? SseEventKind.NotChunk
                : chunk.ChoiceCount > 0 ? SseEventKind.Choice
                : SseEventKind.NoChoice;
        }
        finally
        {
            Return(rented);
        }
    }

    /// <summary>The SSE event a router sends when a stream fails after it started.</summary>
    public static byte[] ErrorEvent(string code, string message)
    {
        var json = ErrorEnvelope.Serialize(new RouterError(502, "upstream_error", code, message));
        return [.. "event: error\ndata: "u8, .. json, .. "\n\n"u8];
    }

    private static EventKind Inspect(ReadOnlySpan<byte> evt, ref TokenUsage? usage, ref string? finish, ref bool providerError, ref bool extras, StringBuilder content, StringBuilder generated)
    {
        var data = Data(evt, out var errorEvent, out var rented);
        try
        {
            providerError |= errorEvent;
            if (data.SequenceEqual("[DONE]"u8))
            {
                return EventKind.Done;
            }

            if (data.IsEmpty)
            {
                return EventKind.Other;
            }

            if (CompletionReader.IsErrorPayload(data))
            {
                providerError = true;
                return EventKind.Other;
            }

            var kind = EventKind.Other;
            if (CompletionReader.TryRead(data, out var chunk))
            {
                if (chunk.Usage is { } u)
                {
                    usage = u;
                    if (chunk.ChoiceCount == 0)
                    {
                        kind = EventKind.UsageOnly;
                    }
                }

                finish = chunk.FinishReason ?? finish;
                extras |= chunk.MessageExtras;
                if (chunk.Content is { } delta && content.Length < MaxContentChars)
                {
                    content.Append(delta);
                }

                if (generated.Length < MaxContentChars)
                {
                    generated.Append(chunk.OtherContent).Append(chunk.ExtraText);
                }
            }

            return kind;
        }
        finally
        {
            Return(rented);
        }
    }

    // An event's data as an SSE client reads it: the values of its data lines joined with "\n" (one payload may be spread
    // over several lines), and whether its type is error. One data line, the usual case, is returned in place; several
    // are joined into a buffer rented from the pool, which the caller hands back to Return.
    private static ReadOnlySpan<byte> Data(ReadOnlySpan<byte> evt, out bool errorEvent, out byte[]? rented)
    {
        errorEvent = false;
        rented = null;
        ReadOnlySpan<byte> first = default;
        var lines = 0;
        var length = 0;
        foreach (var range in evt.Split((byte)'\n'))
        {
            var line = evt[range].TrimEnd((byte)'\r');
            if (line.StartsWith("event:"u8))
            {
                errorEvent |= line[6..].Trim((byte)' ').SequenceEqual("error"u8);
            }
            else if (line.StartsWith("data:"u8))
            {
                var value = line[5..].TrimStart((byte)' ');
                if (lines++ == 0)
                {
                    first = value;
                }

                length += value.Length;
            }
        }

        if (lines <= 1)
        {
            return first;
        }

        rented = ArrayPool<byte>.Shared.Rent(length + lines - 1);
        var joined = rented.AsSpan();
        var written = 0;
        var joinedLines = 0;
        foreach (var range in evt.Split((byte)'\n'))
        {
            var line = evt[range].TrimEnd((byte)'\r');
            if (line.StartsWith("data:"u8))
            {
                if (joinedLines++ > 0)
                {
                    joined[written++] = (byte)'\n';
                }

                var value = line[5..].TrimStart((byte)' ');
                value.CopyTo(joined[written..]);
                written += value.Length;
            }
        }

        return joined[..written];
    }

    private static void Return(byte[]? rented)
    {
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private enum EventKind
    {
        Other,
        UsageOnly,
        Done,
    }
}
