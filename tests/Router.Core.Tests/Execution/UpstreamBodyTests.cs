using System.Text;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Execution;

namespace Router.Core.Tests.Execution;

public sealed class UpstreamBodyTests
{
    [Theory]
    [InlineData(1_000)]
    [InlineData(40_000)]
    public async Task A_body_up_to_the_bound_is_read_whole(int size)
    {
        var bytes = Encoding.ASCII.GetBytes(new string('a', size));

        var body = await UpstreamBody.ReadAllAsync(new MemoryStream(bytes), size, CancellationToken.None);

        Assert.Equal(bytes, body!.Value.ToArray());
    }

    [Theory]
    [InlineData(1_000)]
    [InlineData(40_000)]
    public async Task A_body_one_byte_past_the_bound_is_refused(int size)
    {
        var body = await UpstreamBody.ReadAllAsync(new MemoryStream(new byte[size + 1]), size, CancellationToken.None);

        Assert.Null(body);
    }

    [Fact]
    public async Task An_endless_body_is_read_only_to_just_past_the_bound()
    {
        var endless = new EndlessStream();

        var body = await UpstreamBody.ReadAllAsync(endless, 100_000, CancellationToken.None);

        Assert.Null(body);
        Assert.InRange(endless.Served, 100_001, 2 * 100_001);
    }

    [Fact]
    public async Task An_endless_stream_event_ends_the_read_as_too_large()
    {
        var endless = new EndlessStream();
        using var reader = new SseEventReader(endless, TimeSpan.FromSeconds(5), new FakeTimeProvider(), 100_000);

        Assert.Equal(SseReadStatus.EventTooLarge, await reader.WaitForEventAsync(CancellationToken.None));
        Assert.InRange(endless.Served, 100_001, 2 * 100_001);
    }

    [Fact]
    public async Task The_bound_is_on_one_event_not_on_the_stream()
    {
        var evt = "data: " + new string('a', 900) + "\n\n";
        var text = string.Concat(Enumerable.Repeat(evt, 50)) + "data: " + new string('a', 1_000) + "\n\n";
        using var reader = new SseEventReader(new MemoryStream(Encoding.ASCII.GetBytes(text)), TimeSpan.FromSeconds(5), new FakeTimeProvider(), 1_000);

        for (var i = 0; i < 50; i++)
        {
            var (status, read) = await reader.ReadAsync(CancellationToken.None);
            Assert.Equal(SseReadStatus.Event, status);
            Assert.Equal(evt.Length, read.Length);
        }

        Assert.Equal(SseReadStatus.EventTooLarge, (await reader.ReadAsync(CancellationToken.None)).Status);
    }

    // Serves 'a' without end, as a provider that never stops sending; counts what it served.
    private sealed class EndlessStream : Stream
    {
        public long Served { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var span = buffer.AsSpan(offset, Math.Min(count, 4096));
            span.Fill((byte)'a');
            Served += span.Length;
            return span.Length;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var span = buffer.Span[..Math.Min(buffer.Length, 4096)];
            span.Fill((byte)'a');
            Served += span.Length;
            return ValueTask.FromResult(span.Length);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
