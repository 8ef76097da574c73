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

    /// <summary>The client went away.</summary>
    ClientCancelled,
}

/// <summary>What the relay saw while forwarding a stream.</summary>
/// <param name="End">How the stream ended.</param>
/// <param name="EventsForwarded">Events written to the client.</param>
/// <param name="Usage">Usage from the provider's final chunk, if any.</param>
/// <param name="FinishReason">The last finish reason seen.</param>
/// <param name="Content">The concatenated deltas (bounded).</param>
public sealed record StreamRelayResult(StreamEnd End, int EventsForwarded, TokenUsage? Usage, string? FinishReason, string Content);

/// <summary>Forwards a provider's server-sent events to the client event by event, as they arrive, reading usage
/// and content on the way. Never invents a <c>[DONE]</c>.</summary>
public static class SseRelay
{
    private const int MaxContentChars = 1 << 20;

    /// <summary>Relays <paramref name="upstream"/> to <paramref name="sink"/>; the caller has already started the event stream.</summary>
    /// <param name="upstream">The provider's response body.</param>
    /// <param name="sink">The client.</param>
    /// <param name="forwardUsageChunk">Whether the usage-only chunk is forwarded (the client asked for usage).</param>
    /// <param name="idleTimeout">Longest wait for the next bytes.</param>
    /// <param name="cancellationToken">The client's cancellation.</param>
    public static async Task<StreamRelayResult> RelayAsync(
        Stream upstream, IResponseSink sink, bool forwardUsageChunk, TimeSpan idleTimeout, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var filled = 0;
        var forwarded = 0;
        TokenUsage? usage = null;
        string? finish = null;
        var content = new StringBuilder();
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            while (true)
            {
                // Complete events already in the buffer go out before the next read.
                var consumed = 0;
                while (TryFindEventEnd(buffer.AsSpan(consumed, filled - consumed), out var eventLength))
                {
                    var evt = buffer.AsMemory(consumed, eventLength);
                    consumed += eventLength;
                    var kind = Inspect(evt.Span, ref usage, ref finish, content);
                    if (kind == EventKind.UsageOnly && !forwardUsageChunk)
                    {
                        continue;
                    }

                    await sink.WriteEventAsync(evt, cancellationToken);
                    forwarded++;
                    if (kind == EventKind.Done)
                    {
                        return new StreamRelayResult(StreamEnd.Done, forwarded, usage, finish, content.ToString());
                    }
                }

                if (consumed > 0)
                {
                    Buffer.BlockCopy(buffer, consumed, buffer, 0, filled - consumed);
                    filled -= consumed;
                }

                if (filled == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    Buffer.BlockCopy(buffer, 0, larger, 0, filled);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                int read;
                try
                {
                    idle.CancelAfter(idleTimeout);
                    read = await upstream.ReadAsync(buffer.AsMemory(filled), idle.Token);
                    if (!idle.TryReset())
                    {
                        return Ended(StreamEnd.IdleTimeout);
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return Ended(StreamEnd.ClientCancelled);
                }
                catch (OperationCanceledException)
                {
                    return Ended(StreamEnd.IdleTimeout);
                }
                catch (IOException)
                {
                    return Ended(StreamEnd.Cut);
                }

                if (read == 0)
                {
                    return Ended(StreamEnd.Cut);
                }

                filled += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        StreamRelayResult Ended(StreamEnd end) => new(end, forwarded, usage, finish, content.ToString());
    }

    /// <summary>The SSE event a router sends when a stream fails after it started.</summary>
    public static byte[] ErrorEvent(string code, string message)
    {
        var json = ErrorEnvelope.Serialize(new RouterError(502, "upstream_error", code, message));
        return [.. "event: error\ndata: "u8, .. json, .. "\n\n"u8];
    }

    private static bool TryFindEventEnd(ReadOnlySpan<byte> data, out int length)
    {
        for (var i = 0; i < data.Length - 1; i++)
        {
            if (data[i] != (byte)'\n')
            {
                continue;
            }

            if (data[i + 1] == (byte)'\n')
            {
                length = i + 2;
                return true;
            }

            if (data[i + 1] == (byte)'\r' && i + 2 < data.Length && data[i + 2] == (byte)'\n')
            {
                length = i + 3;
                return true;
            }
        }

        length = 0;
        return false;
    }

    private static EventKind Inspect(ReadOnlySpan<byte> evt, ref TokenUsage? usage, ref string? finish, StringBuilder content)
    {
        var kind = EventKind.Other;
        while (!evt.IsEmpty)
        {
            var newline = evt.IndexOf((byte)'\n');
            var line = newline < 0 ? evt : evt[..newline];
            evt = newline < 0 ? default : evt[(newline + 1)..];
            line = line.TrimEnd((byte)'\r');
            if (!line.StartsWith("data:"u8))
            {
                continue;
            }

            var data = line[5..].TrimStart((byte)' ');
            if (data.SequenceEqual("[DONE]"u8))
            {
                return EventKind.Done;
            }

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
                if (chunk.Content is { } delta && content.Length < MaxContentChars)
                {
                    content.Append(delta);
                }
            }
        }

        return kind;
    }

    private enum EventKind
    {
        Other,
        UsageOnly,
        Done,
    }
}
