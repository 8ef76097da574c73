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

    /// <summary>More bytes than the reader's bound arrived without completing an event.</summary>
    EventTooLarge,
}

/// <summary>Reads server-sent events one complete event at a time from a provider's stream, with an idle timeout and a
/// bound on the bytes of one event. An event returned stays valid until the next read.</summary>
public sealed class SseEventReader : IDisposable
{
    private readonly Stream _stream;
    private readonly TimeSpan _idleTimeout;
    private readonly TimeProvider _time;
    private readonly int _maxEventBytes;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private int _start;
    private int _end;

    // Events looked at and held back (not consumed) from _start: the cursor, where the next event is looked for, is
    // _start + _held. Reads still return held events first, in order.
    private int _held;

    // The length of the complete event at the cursor, 0 while none is known; and how far past the cursor the search
    // for its end has already looked, so a large event arriving in many reads is scanned once, not once per read.
    private int _eventLength;
    private int _searched;
    private bool _atStart = true;

    // When the events read (ReadAsync, a committed stream) last made progress: data, not just comments such as
    // ": keep-alive", which prove the connection is up but not that the answer is coming. A timestamp of _time, first
    // taken when ReadAsync is first called, which commits the stream.
    private long _progressAt;
    private bool _committed;

    // What the line the last read ended in is, so bytes of one line spread over reads are judged by its first byte.
    private LineKind _line;

    /// <summary>Wraps <paramref name="stream"/>.</summary>
    /// <param name="stream">The provider's response body.</param>
    /// <param name="idleTimeout">Longest wait for bytes.</param>
    /// <param name="time">The clock the idle timeout runs on.</param>
    /// <param name="maxEventBytes">Most bytes buffered for one event (for the events held back before a stream's first
    /// choice, for them and that event together).</param>
    public SseEventReader(Stream stream, TimeSpan idleTimeout, TimeProvider time, int maxEventBytes = ExecutionOptions.DefaultMaxResponseBytes)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEventBytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxEventBytes, Array.MaxLength - 1);
        _stream = stream;
        _idleTimeout = idleTimeout;
        _time = time;
        _maxEventBytes = maxEventBytes;
    }

    /// <summary>Reads until a complete event is buffered at the cursor, without consuming it, so a caller can decide
    /// before committing.</summary>
    public ValueTask<SseReadStatus> WaitForEventAsync(CancellationToken cancellationToken) =>
        WaitForEventCoreAsync(commentsAreSilence: false, cancellationToken);

    private async ValueTask<SseReadStatus> WaitForEventCoreAsync(bool commentsAreSilence, CancellationToken cancellationToken)
    {
        while (!FindEvent())
        {
            if (_end - _start > _maxEventBytes)
            {
                return SseReadStatus.EventTooLarge;
            }

            var status = await FillAsync(commentsAreSilence, cancellationToken);
            if (status != SseReadStatus.Event)
            {
                return status;
            }
        }

        // A read may bring a whole event past the bound at once.
        return _held + _eventLength > _maxEventBytes ? SseReadStatus.EventTooLarge : SseReadStatus.Event;
    }

    /// <summary>The complete event <see cref="WaitForEventAsync"/> found, still unconsumed; empty when there is none.</summary>
    public ReadOnlyMemory<byte> PeekEvent() =>
        FindEvent() ? _buffer.AsMemory(_start + _held, _eventLength) : default;

    /// <summary>Drops the complete event <see cref="PeekEvent"/> returns, if any.</summary>
    public void SkipEvent()
    {
        if (!FindEvent())
        {
            return;
        }

        if (_held == 0)
        {
            _start += _eventLength;
        }
        else
        {
            // Only before a stream is committed (held events are the few before its first choice): close the gap.
            var cursor = _start + _held;
            Buffer.BlockCopy(_buffer, cursor + _eventLength, _buffer, cursor, _end - cursor - _eventLength);
            _end -= _eventLength;
        }

        _eventLength = 0;
        _searched = 0;
    }

    /// <summary>Keeps the complete event <see cref="PeekEvent"/> returns for the reads, and moves the cursor past it.</summary>
    public void HoldEvent()
    {
        if (FindEvent())
        {
            _held += _eventLength;
            _eventLength = 0;
            _searched = 0;
        }
    }

    /// <summary>Reads the next complete event: an event held back, or else the next one from the stream. Here, in a
    /// stream already committed to the client, comments do not reset the idle timeout: a provider that sends nothing
    /// but keep-alives for that long has stalled.</summary>
    public async ValueTask<(SseReadStatus Status, ReadOnlyMemory<byte> Event)> ReadAsync(CancellationToken cancellationToken)
    {
        if (!_committed)
        {
            _committed = true;
            _progressAt = _time.GetTimestamp();
        }

        if (_held > 0)
        {
            TryFindEventEnd(_buffer.AsSpan(_start, _held), 0, out var heldLength);
            var held = _buffer.AsMemory(_start, heldLength);
            _start += heldLength;
            _held -= heldLength;
            return (SseReadStatus.Event, held);
        }

        var status = await WaitForEventCoreAsync(commentsAreSilence: true, cancellationToken);
        if (status != SseReadStatus.Event)
        {
            return (status, default);
        }

        var evt = _buffer.AsMemory(_start, _eventLength);
        _start += _eventLength;
        _eventLength = 0;
        _searched = 0;
        if (!IsComment(evt.Span))
        {
            _progressAt = _time.GetTimestamp();
        }

        return (SseReadStatus.Event, evt);
    }

    private bool FindEvent()
    {
        if (_eventLength > 0)
        {
            return true;
        }

        var pending = _buffer.AsSpan(_start + _held, _end - _start - _held);
        if (TryFindEventEnd(pending, _searched, out _eventLength))
        {
            return true;
        }

        // An end can straddle reads: the last two bytes may begin one ("\n" + "\n", "\n\r" + "\n").
        _searched = Math.Max(0, pending.Length - 2);
        return false;
    }

    private async ValueTask<SseReadStatus> FillAsync(bool commentsAreSilence, CancellationToken cancellationToken)
    {
        var timeout = _idleTimeout;
        if (commentsAreSilence)
        {
            timeout -= _time.GetElapsedTime(_progressAt);
            if (timeout <= TimeSpan.Zero)
            {
                return SseReadStatus.IdleTimeout;
            }
        }

        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            // Grows to one byte past the bound at most: a larger event is noticed there, and the size never overflows.
            var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(_buffer.Length * 2L, _maxEventBytes + 1L));
            Buffer.BlockCopy(_buffer, 0, larger, 0, _end);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        // The idle timer runs on _time; the caller's token cancels the read too, as a linked source would.
        using var idle = new CancellationTokenSource(timeout, _time);
        using var caller = cancellationToken.UnsafeRegister(static source => ((CancellationTokenSource)source!).Cancel(), idle);
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

        var readFrom = _end;
        _end += read;
        if (_atStart)
        {
            SkipByteOrderMark();
        }

        // Bytes of a data line are progress, those of an event still arriving over several reads (a large chunk) or after
        // a comment in the same read included; bytes of comments and blank lines are not.
        var data = CarriesData(_buffer.AsSpan(Math.Max(readFrom, _start), _end - Math.Max(readFrom, _start)));
        if (commentsAreSilence && data)
        {
            _progressAt = _time.GetTimestamp();
        }

        return SseReadStatus.Event;
    }

    // An event stream may begin with one UTF-8 byte order mark, which SSE clients strip: left in, it would make the first
    // line's field name "\uFEFFdata" and the first event carry no data.
    private void SkipByteOrderMark()
    {
        var head = _buffer.AsSpan(_start, _end - _start);
        var mark = "\uFEFF"u8;
        if (head.Length < mark.Length && mark.StartsWith(head))
        {
            return;
        }

        _atStart = false;
        if (head.StartsWith(mark))
        {
            _start += mark.Length;
            _searched = 0;
        }
    }

    // Whether bytes just read hold part of a data line (any line neither blank nor a comment), the line the previous read
    // ended in keeping the kind its first byte gave it.
    private bool CarriesData(ReadOnlySpan<byte> read)
    {
        var data = false;
        while (!read.IsEmpty)
        {
            if (_line == LineKind.Start)
            {
                _line = read[0] switch
                {
                    (byte)':' => LineKind.Comment,
                    (byte)'\n' or (byte)'\r' => LineKind.Blank,
                    _ => LineKind.Data,
                };
            }

            data |= _line == LineKind.Data;
            var newline = read.IndexOf((byte)'\n');
            if (newline < 0)
            {
                break;
            }

            _line = LineKind.Start;
            read = read[(newline + 1)..];
        }

        return data;
    }

    // Whether an event (or the start of one) is only comments and blank lines: every line is empty or begins with ':'.
    private static bool IsComment(ReadOnlySpan<byte> evt)
    {
        foreach (var range in evt.Split((byte)'\n'))
        {
            var line = evt[range];
            if (!line.IsEmpty && line[0] != (byte)':' && line[0] != (byte)'\r')
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryFindEventEnd(ReadOnlySpan<byte> data, int from, out int length)
    {
        var offset = from;
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

    private enum LineKind
    {
        Start,
        Comment,
        Blank,
        Data,
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
