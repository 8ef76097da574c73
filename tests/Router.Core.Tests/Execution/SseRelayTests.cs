using System.Text;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Execution;
using Router.Core.Pipeline;

namespace Router.Core.Tests.Execution;

public sealed class SseRelayTests
{
    private const string Chunk1 = """data: {"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}""";
    private const string Chunk2 = """data: {"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}""";
    private const string UsageChunk = """data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":3}}}""";

    [Fact]
    public async Task Forwards_each_event_and_reads_usage_and_content()
    {
        var upstream = Stream(Chunk1 + "\n\n" + Chunk2 + "\n\n" + UsageChunk + "\n\ndata: [DONE]\n\n");
        var sink = new RecordingSink();

        var result = await SseRelay.RelayAsync(new SseEventReader(upstream, TimeSpan.FromSeconds(5), Frozen), sink, true, null, CancellationToken.None);

        Assert.Equal(StreamEnd.Done, result.End);
        Assert.Equal(4, sink.Events.Count);
        Assert.Equal(4, result.EventsForwarded);
        Assert.Equal("data: [DONE]\n\n", sink.Events[^1]);
        Assert.Equal(new TokenUsage(7, 2, 3), result.Usage);
        Assert.Equal("Hello", result.Content);
        Assert.Equal("stop", result.FinishReason);
    }

    [Fact]
    public async Task Drops_the_usage_chunk_when_the_client_did_not_ask_for_it()
    {
        var upstream = Stream(Chunk1 + "\n\n" + UsageChunk + "\n\ndata: [DONE]\n\n");
        var sink = new RecordingSink();

        var result = await SseRelay.RelayAsync(new SseEventReader(upstream, TimeSpan.FromSeconds(5), Frozen), sink, false, null, CancellationToken.None);

        Assert.Equal(2, sink.Events.Count);
        Assert.DoesNotContain(sink.Events, e => e.Contains("usage", StringComparison.Ordinal));
        Assert.Equal(7, result.Usage!.Value.PromptTokens);
    }

    [Fact]
    public async Task A_stream_without_done_is_reported_as_cut_and_no_done_is_invented()
    {
        var upstream = Stream(Chunk1 + "\n\n" + Chunk2[..20]);
        var sink = new RecordingSink();

        var result = await SseRelay.RelayAsync(new SseEventReader(upstream, TimeSpan.FromSeconds(5), Frozen), sink, true, null, CancellationToken.None);

        Assert.Equal(StreamEnd.Cut, result.End);
        Assert.Single(sink.Events);
        Assert.DoesNotContain(sink.Events, e => e.Contains("[DONE]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Handles_crlf_delimiters_and_events_split_across_reads()
    {
        var text = Chunk1 + "\r\n\r\n" + "data: [DONE]\r\n\r\n";
        var upstream = new TrickleStream(Encoding.UTF8.GetBytes(text), 3);
        var sink = new RecordingSink();

        var result = await SseRelay.RelayAsync(new SseEventReader(upstream, TimeSpan.FromSeconds(5), Frozen), sink, true, null, CancellationToken.None);

        Assert.Equal(StreamEnd.Done, result.End);
        Assert.Equal(2, sink.Events.Count);
        Assert.Equal("Hel", result.Content);
    }

    [Fact]
    public async Task A_client_write_that_fails_with_an_io_error_reports_what_was_streamed()
    {
        var upstream = Stream(Chunk1 + "\n\n" + Chunk2 + "\n\n" + UsageChunk + "\n\ndata: [DONE]\n\n");
        // The client's connection breaks at the second event: the first reached it.
        var sink = new RecordingSink
        {
            AfterWrite = n =>
            {
                if (n == 2)
                {
                    throw new IOException("The client's connection was reset.");
                }
            },
        };

        var result = await SseRelay.RelayAsync(new SseEventReader(upstream, TimeSpan.FromSeconds(5), Frozen), sink, false, null, CancellationToken.None);

        Assert.Equal(StreamEnd.ClientClosed, result.End);
        Assert.Equal(1, result.EventsForwarded);
        Assert.Equal("Hello", result.Content);
    }

    [Fact]
    public async Task A_stream_that_sends_only_comments_after_it_started_ends_with_idle_timeout()
    {
        // Comments keep arriving, one every 50 ms, but no data follows: the 200 ms idle timeout ends the stream 200 ms
        // after the last data, not 200 ms after the last comment.
        var time = new FakeTimeProvider();
        var upstream = new ScriptedStream();
        upstream.Send(Chunk1 + "\n\n");
        var sink = new RecordingSink();

        var relay = SseRelay.RelayAsync(new SseEventReader(upstream, TimeSpan.FromMilliseconds(200), time), sink, true, null, CancellationToken.None);
        for (var comment = 0; comment < 3; comment++)
        {
            await upstream.ReadIsWaitingAsync();
            time.Advance(TimeSpan.FromMilliseconds(50));
            upstream.Send(": keep-alive\n\n");
        }

        await upstream.ReadIsWaitingAsync();
        Assert.False(relay.IsCompleted, "the stream ended 150 ms after its data");
        time.Advance(TimeSpan.FromMilliseconds(50));
        var result = await Ended(relay);

        Assert.Equal(StreamEnd.IdleTimeout, result.End);
        Assert.Equal("Hel", result.Content);
    }

    [Fact]
    public async Task Data_that_arrives_in_the_same_read_as_a_comment_resets_the_idle_timeout()
    {
        // 2 s after the first chunk, one read brings a keep-alive and the start of the next chunk; its end comes 2 s later.
        // Data kept arriving within the 3 s idle timeout, so the stream is not stalled (a reader that took the read for a
        // comment alone would cut it at 3 s).
        var time = new FakeTimeProvider();
        var upstream = new ScriptedStream();
        upstream.Send(Chunk1 + "\n\n");
        var sink = new RecordingSink();

        var relay = SseRelay.RelayAsync(new SseEventReader(upstream, TimeSpan.FromSeconds(3), time), sink, true, null, CancellationToken.None);
        await upstream.ReadIsWaitingAsync();
        time.Advance(TimeSpan.FromSeconds(2));
        upstream.Send(": keep-alive\n\n" + Chunk2[..20]);
        await upstream.ReadIsWaitingAsync();
        time.Advance(TimeSpan.FromSeconds(2));
        upstream.Send(Chunk2[20..] + "\n\ndata: [DONE]\n\n");
        var result = await Ended(relay);

        Assert.Equal(StreamEnd.Done, result.End);
        Assert.Equal("Hello", result.Content);
    }

    [Fact]
    public async Task A_stalled_stream_ends_with_idle_timeout()
    {
        var time = new FakeTimeProvider();
        var upstream = new ScriptedStream();
        upstream.Send(Chunk1 + "\n\n");
        var sink = new RecordingSink();

        var relay = SseRelay.RelayAsync(new SseEventReader(upstream, TimeSpan.FromMilliseconds(100), time), sink, true, null, CancellationToken.None);
        await upstream.ReadIsWaitingAsync();
        time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.False(relay.IsCompleted, "the stream ended before its idle timeout");
        time.Advance(TimeSpan.FromMilliseconds(1));
        var result = await Ended(relay);

        Assert.Equal(StreamEnd.IdleTimeout, result.End);
        Assert.Single(sink.Events);
    }

    [Fact]
    public async Task Waiting_for_the_first_event_times_out_after_the_idle_timeout_which_comments_reset()
    {
        // Before a stream is committed a keep-alive proves the provider is up, so it restarts the wait for the next event.
        var time = new FakeTimeProvider();
        var upstream = new ScriptedStream();
        using var reader = new SseEventReader(upstream, TimeSpan.FromMilliseconds(100), time);

        var first = reader.WaitForEventAsync(CancellationToken.None).AsTask();
        await upstream.ReadIsWaitingAsync();
        time.Advance(TimeSpan.FromMilliseconds(60));
        upstream.Send(": keep-alive\n\n");
        Assert.Equal(SseReadStatus.Event, await Ended(first));
        reader.SkipEvent();
        var second = reader.WaitForEventAsync(CancellationToken.None).AsTask();
        await upstream.ReadIsWaitingAsync();
        time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.False(second.IsCompleted, "the wait ended 99 ms after the comment");
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(SseReadStatus.IdleTimeout, await Ended(second));
    }

    [Fact]
    public async Task A_trailer_goes_out_just_before_done_with_the_final_usage()
    {
        var upstream = Stream(Chunk1 + "\n\n" + UsageChunk + "\n\ndata: [DONE]\n\n");
        var sink = new RecordingSink();

        await SseRelay.RelayAsync(
            new SseEventReader(upstream, TimeSpan.FromSeconds(5), Frozen), sink, false,
            r => Encoding.UTF8.GetBytes($": tokens={r.Usage!.Value.CompletionTokens}\n\n"), CancellationToken.None);

        Assert.Equal([": tokens=2\n\n", "data: [DONE]\n\n"], sink.Events[^2..]);
    }

    [Theory]
    [InlineData("""data: {"error":{"message":"failed","type":"server_error","code":"generation_failed"}}""")]
    [InlineData("event: error\ndata: {\"message\":\"failed\"}")]
    public async Task A_providers_done_after_its_error_is_held_back_with_the_trailer(string error)
    {
        var upstream = Stream(Chunk1 + "\n\n" + error + "\n\ndata: [DONE]\n\n");
        var sink = new RecordingSink();

        var result = await SseRelay.RelayAsync(
            new SseEventReader(upstream, TimeSpan.FromSeconds(5), Frozen), sink, true, _ => ": trailer\n\n"u8.ToArray(), CancellationToken.None);

        Assert.True(result.ProviderError);
        Assert.Equal(StreamEnd.Done, result.End);
        Assert.Equal("Hel", result.Content);
        Assert.Equal(2, sink.Events.Count);
        Assert.Equal(2, result.EventsForwarded);
        Assert.DoesNotContain(sink.Events, e => e.Contains("[DONE]", StringComparison.Ordinal) || e.Contains("trailer", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_client_that_leaves_mid_stream_gets_a_client_closed_result_with_what_was_relayed()
    {
        // Two content events, then the provider goes quiet; the client leaves while the relay waits for more.
        var upstream = new ScriptedStream();
        upstream.Send(Chunk1 + "\n\n" + Chunk2 + "\n\n");
        var sink = new RecordingSink();
        using var client = new CancellationTokenSource();

        var relay = SseRelay.RelayAsync(new SseEventReader(upstream, TimeSpan.FromSeconds(30), Frozen), sink, true, null, client.Token);
        await upstream.ReadIsWaitingAsync();
        await client.CancelAsync();
        var result = await Ended(relay);

        Assert.Equal(StreamEnd.ClientClosed, result.End);
        Assert.Equal(2, result.EventsForwarded);
        Assert.Equal("Hello", result.Content);
    }

    [Fact]
    public void The_error_event_is_an_sse_error_with_openai_shape()
    {
        var text = Encoding.UTF8.GetString(SseRelay.ErrorEvent("stream_interrupted", "cut"));
        Assert.StartsWith("event: error\ndata: {\"error\":{", text, StringComparison.Ordinal);
        Assert.EndsWith("\n\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Data_spread_over_several_lines_is_read_joined_and_relayed_as_received()
    {
        // One payload per event, cut after its first field: an SSE client joins the lines with "\n" and so does the relay.
        static string TwoLines(string evt) => evt.Insert(evt.IndexOf(',', StringComparison.Ordinal) + 1, "\ndata: ") + "\n\n";
        var text = TwoLines(Chunk1) + TwoLines(Chunk2) + TwoLines(UsageChunk) + "data: [DONE]\n\n";
        var sink = new RecordingSink();

        var result = await SseRelay.RelayAsync(new SseEventReader(Stream(text), TimeSpan.FromSeconds(5), Frozen), sink, true, null, CancellationToken.None);

        Assert.Equal(StreamEnd.Done, result.End);
        Assert.Equal(new TokenUsage(7, 2, 3), result.Usage);
        Assert.Equal("Hello", result.Content);
        Assert.Equal("stop", result.FinishReason);
        Assert.Equal(text, string.Concat(sink.Events));
    }

    [Fact]
    public async Task An_error_spread_over_several_data_lines_is_a_provider_error()
    {
        var text = Chunk1 + "\n\ndata: {\"error\":\ndata: {\"message\":\"failed\",\"type\":\"server_error\"}}\n\ndata: [DONE]\n\n";
        var sink = new RecordingSink();

        var result = await SseRelay.RelayAsync(new SseEventReader(Stream(text), TimeSpan.FromSeconds(5), Frozen), sink, true, null, CancellationToken.None);

        Assert.True(result.ProviderError);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4096)]
    public async Task A_leading_byte_order_mark_is_stripped_even_when_it_arrives_in_pieces(int step)
    {
        var bytes = Encoding.UTF8.GetBytes("\uFEFF" + Chunk1 + "\n\ndata: [DONE]\n\n");
        Assert.Equal(0xEF, bytes[0]);
        var sink = new RecordingSink();

        var result = await SseRelay.RelayAsync(new SseEventReader(new TrickleStream(bytes, step), TimeSpan.FromSeconds(5), Frozen), sink, true, null, CancellationToken.None);

        Assert.Equal(StreamEnd.Done, result.End);
        Assert.Equal([Chunk1 + "\n\n", "data: [DONE]\n\n"], sink.Events);
        Assert.Equal("Hel", result.Content);
    }

    [Theory]
    [InlineData(": keep-alive\n\n", nameof(SseEventKind.NoData))]
    [InlineData("event: ping\n\n", nameof(SseEventKind.NoData))]
    [InlineData(Chunk1 + "\n\n", nameof(SseEventKind.Choice))]
    [InlineData(UsageChunk + "\n\n", nameof(SseEventKind.NoChoice))]
    [InlineData("data: {\"choices\":[],\"prompt_filter_results\":[]}\n\n", nameof(SseEventKind.NoChoice))]
    [InlineData("data: [DONE]\n\n", nameof(SseEventKind.Done))]
    [InlineData("data: Internal Server Error\n\n", nameof(SseEventKind.NotChunk))]
    [InlineData("data: {\"choices\":[{\"delta\":{}}]}<html>\n\n", nameof(SseEventKind.NotChunk))]
    [InlineData("event: error\ndata: {\"message\":\"x\"}\n\n", nameof(SseEventKind.Error))]
    [InlineData("data: {\"error\":\ndata: {\"message\":\"x\"}}\n\n", nameof(SseEventKind.Error))]
    [InlineData("data: {\"choices\":\r\ndata: [{\"delta\":{\"content\":\"a\"}}]}\r\n\r\n", nameof(SseEventKind.Choice))]
    public void An_opening_event_is_classified_as_an_sse_client_reads_it(string evt, string kind)
    {
        Assert.Equal(kind, SseRelay.Classify(Encoding.UTF8.GetBytes(evt)).ToString());
    }

    [Fact]
    public async Task Held_events_are_read_first_and_skipped_ones_never()
    {
        var text = UsageChunk + "\n\n: keep-alive\n\n" + Chunk1 + "\n\ndata: [DONE]\n\n";
        using var reader = new SseEventReader(new TrickleStream(Encoding.UTF8.GetBytes(text), 7), TimeSpan.FromSeconds(5), Frozen);

        Assert.Equal(SseReadStatus.Event, await reader.WaitForEventAsync(CancellationToken.None));
        reader.HoldEvent();
        Assert.Equal(SseReadStatus.Event, await reader.WaitForEventAsync(CancellationToken.None));
        Assert.Equal(": keep-alive\n\n", Encoding.UTF8.GetString(reader.PeekEvent().Span));
        reader.SkipEvent();
        Assert.Equal(SseReadStatus.Event, await reader.WaitForEventAsync(CancellationToken.None));
        Assert.Equal(Chunk1 + "\n\n", Encoding.UTF8.GetString(reader.PeekEvent().Span));

        var read = new List<string>();
        while (await reader.ReadAsync(CancellationToken.None) is (SseReadStatus.Event, var evt))
        {
            read.Add(Encoding.UTF8.GetString(evt.Span));
        }

        Assert.Equal([UsageChunk + "\n\n", Chunk1 + "\n\n", "data: [DONE]\n\n"], read);
    }

    // The clock of the tests not about timing: it never moves, so their reads never time out, however slow the machine.
    private static readonly FakeTimeProvider Frozen = new();

    // Bounds the wait for what the test's script should have ended, so a reader whose timer did not fire when it should
    // fails the test instead of hanging it.
    private static Task<T> Ended<T>(Task<T> task) => task.WaitAsync(TimeSpan.FromSeconds(10));

    private static MemoryStream Stream(string text) => new(Encoding.UTF8.GetBytes(text));

    private sealed class RecordingSink : IResponseSink
    {
        public List<string> Events { get; } = [];

        public bool HasStarted => true;

        public void SetHeader(string name, string value)
        {
        }

        public Task WriteJsonAsync(int statusCode, ReadOnlyMemory<byte> json, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartEventStreamAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Action<int>? AfterWrite { get; set; }

        public Task WriteEventAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
        {
            Events.Add(Encoding.UTF8.GetString(bytes.Span));
            AfterWrite?.Invoke(Events.Count);
            return Task.CompletedTask;
        }
    }

    private sealed class TrickleStream(byte[] data, int step) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(step, buffer.Length)], cancellationToken);
    }
}
