using System.Buffers;

namespace Router.Core.Execution;

/// <summary>How a read from an event stream ended.</summary>
public enum SseReadStatus
{
    /// <summary>A complete event is available.</summary>
    Event,

    /// <summary>The stream ended (cleanly or not) with no further complete event.</summary>
    Ended,

    /// <summary>The stream broke (reset, I/O error).</summary>
    Broken,

    /// <summary>No bytes arrived within the idle timeout.</summary>
    IdleTimeout,
}

/// <summary>Reads server-sent events one complete event at a time from a provider's stream, with an idle timeout.
/// An event returned stays valid until the next read.</summary>
public sealed class SseEventReader : IDisposable
{
    private readonly Stream _stream;
    private readonly TimeSpan _idleTimeout;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private int _start;
    private int _end;

    /// <summary>Wraps <paramref name="stream"/>.</summary>
    public SseEventReader(Stream stream, TimeSpan idleTimeout)
    {
        _stream = stream;
        _idleTimeout = idleTimeout;
    }

    /// <summary>Reads until a complete event is buffered, without consuming it, so a caller can decide before committing.</summary>
    public async ValueTask<SseReadStatus> WaitForEventAsync(CancellationToken cancellationToken)
    {
        while (!TryFindEventEnd(_buffer.AsSpan(_start, _end - _start), out _))
        {
            var status = await FillAsync(cancellationToken);
            if (status != SseReadStatus.Event)
            {
                return status;
            }
        }

        return SseReadStatus.Event;
    }

    /// <summary>The complete event <see cref="WaitForEventAsync"/> found, still unconsumed; empty when there is none.</summary>
    public ReadOnlyMemory<byte> PeekEvent() =>
        TryFindEventEnd(_buffer.AsSpan(_start, _end - _start), out var length) ? _buffer.AsMemory(_start, length) : default;

    /// <summary>Consumes the complete event <see cref="PeekEvent"/> returns, if any.</summary>
    public void SkipEvent()
    {
        if (TryFindEventEnd(_buffer.AsSpan(_start, _end - _start), out var length))
        {
            _start += length;
        }
    }

    /// <summary>Reads the next complete event.</summary>
    public async ValueTask<(SseReadStatus Status, ReadOnlyMemory<byte> Event)> ReadAsync(CancellationToken cancellationToken)
    {
        var status = await WaitForEventAsync(cancellationToken);
        if (status != SseReadStatus.Event)
        {
            return (status, default);
        }

        TryFindEventEnd(_buffer.AsSpan(_start, _end - _start), out var length);
        var evt = _buffer.AsMemory(_start, length);
        _start += length;
        return (SseReadStatus.Event, evt);
    }

    private async ValueTask<SseReadStatus> FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            Buffer.BlockCopy(_buffer, 0, larger, 0, _end);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(_idleTimeout);
        int read;
        try
        {
            read = await _stream.ReadAsync(_buffer.AsMemory(_end), idle.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return SseReadStatus.IdleTimeout;
        }
        catch (IOException)
        {
            return SseReadStatus.Broken;
        }

        if (read == 0)
        {
            return SseReadStatus.Ended;
        }

        _end += read;
        return SseReadStatus.Event;
    }

    private static bool TryFindEventEnd(ReadOnlySpan<byte> data, out int length)
    {
        var offset = 0;
        while (true)
        {
            var i = data[offset..].IndexOf((byte)'\n');
            if (i < 0 || offset + i + 1 >= data.Length)
            {
                length = 0;
                return false;
            }

            i += offset;
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

            offset = i + 1;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
