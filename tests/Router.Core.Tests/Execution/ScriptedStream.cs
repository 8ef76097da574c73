using System.Text;
using System.Threading.Channels;

namespace Router.Core.Tests.Execution;

// A provider's body whose bytes the test sends, which tells when a read has found none and waits: the test moves the
// fake clock only then, with the reader's timer armed and its read pending, as a provider that is slow would.
internal sealed class ScriptedStream : Stream
{
    private readonly Channel<byte[]> _pieces = Channel.CreateUnbounded<byte[]>();
    private readonly SemaphoreSlim _waiting = new(0);
    private ReadOnlyMemory<byte> _rest;

    // The token of the latest read: whether the timer bounding it has fired is then known at once, where the outcome of
    // the read reaches the reader only after the continuations the cancellation schedules.
    public CancellationToken ReadToken { get; private set; }

    public void Send(string text) => Assert.True(_pieces.Writer.TryWrite(Encoding.UTF8.GetBytes(text)));

    // The provider closes the body once what was sent is read.
    public void End() => Assert.True(_pieces.Writer.TryComplete());

    // The bound only turns a test whose script is wrong into a failure rather than a hang.
    public async Task ReadIsWaitingAsync() => Assert.True(await _waiting.WaitAsync(TimeSpan.FromSeconds(10)), "no read waited for the stream");

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ReadToken = cancellationToken;
        if (_rest.IsEmpty)
        {
            if (!_pieces.Reader.TryRead(out var piece))
            {
                _waiting.Release();
                if (!await _pieces.Reader.WaitToReadAsync(cancellationToken) || !_pieces.Reader.TryRead(out piece))
                {
                    return 0;
                }
            }

            _rest = piece;
        }

        var count = Math.Min(buffer.Length, _rest.Length);
        _rest[..count].CopyTo(buffer);
        _rest = _rest[count..];
        return count;
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _waiting.Dispose();
        }

        base.Dispose(disposing);
    }
}
