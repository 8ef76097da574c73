using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Execution;
using Router.Core.Telemetry;

namespace Router.Core.Tests.Execution;

/// <summary>The executor's timers, on a fake clock: one per attempt bounds the wait for the headers and, re-armed, the
/// body read; one per request bounds all attempts until the answer starts. Each is checked on both sides of its deadline:
/// the token it cancels is still live a millisecond before it and cancelled at it.</summary>
public sealed class ExecutionTimeoutTests
{
    private const string Completion = """{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}""";
    private const string NoResponse = "timeout: no response within 10 s";
    private const string BodyLate = "timeout: body not complete within 10 s";
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan TotalTimeout = TimeSpan.FromSeconds(25);
    private static readonly TimeSpan Millisecond = TimeSpan.FromMilliseconds(1);

    private readonly FakeTimeProvider _time = new();
    private readonly ScriptedProvider _provider = new();
    private readonly DeploymentHealthRegistry _health;
    private readonly ChatExecutor _executor;

    public ExecutionTimeoutTests()
    {
        // One failure opens a breaker, so whether an attempt counted against its deployment shows in its circuit.
        var settings = Options.Create(new ExecutionOptions { AttemptTimeout = AttemptTimeout, TotalTimeout = TotalTimeout, BreakerConsecutiveFailures = 1 });
        _health = new DeploymentHealthRegistry(settings, _time, new RouterTelemetry(new TestMeterFactory()), NullLogger<DeploymentHealthRegistry>.Instance);
        _executor = new ChatExecutor(_provider, _health, settings, _time, NullLogger<ChatExecutor>.Instance);
    }

    [Fact]
    public async Task Headers_not_in_by_the_attempt_timeout_fail_the_attempt_over_to_the_next_candidate()
    {
        var execution = ExecuteAsync(stream: false, "a", "b");
        var a = await _provider.NextCallAsync();
        _time.Advance(AttemptTimeout - Millisecond);
        Assert.False(a.Token.IsCancellationRequested, "the attempt timed out before its timeout");
        _time.Advance(Millisecond);
        Assert.True(a.Token.IsCancellationRequested, "the attempt did not time out at its timeout");
        (await _provider.NextCallAsync()).Answer(Json(Completion));

        await using var result = await Ended(execution);

        Assert.Equal([NoResponse, "ok"], Outcomes(result));
        Assert.Equal(CircuitState.Open, _health.StateOf("a"));
    }

    [Fact]
    public async Task The_body_gets_the_attempt_timeout_again_from_its_headers()
    {
        // The headers take 6 of the attempt's 10 s; the body still has 10 s from then, 16 s from the call.
        var execution = ExecuteAsync(stream: false, "a", "b");
        var a = await _provider.NextCallAsync();
        _time.Advance(TimeSpan.FromSeconds(6));
        var body = new ScriptedStream();
        a.Answer(Json(body));
        await body.ReadIsWaitingAsync();
        _time.Advance(AttemptTimeout - Millisecond);
        Assert.False(body.ReadToken.IsCancellationRequested, "the body timed out before the attempt timeout since its headers");
        _time.Advance(Millisecond);
        Assert.True(body.ReadToken.IsCancellationRequested, "the body did not time out at the attempt timeout since its headers");
        (await _provider.NextCallAsync()).Answer(Json(Completion));

        await using var result = await Ended(execution);

        Assert.Equal([BodyLate, "ok"], Outcomes(result));
        Assert.Equal(CircuitState.Open, _health.StateOf("a"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Headers_that_arrive_as_the_attempts_timer_fires_still_get_the_full_time_for_their_body(bool bodyInTime)
    {
        // The race of headers against the timer, made certain: the provider answers the attempt's cancellation.
        var execution = ExecuteAsync(stream: false, "a");
        var body = new ScriptedStream();
        (await _provider.NextCallAsync()).AnswerWhenCancelled(Json(body));
        _time.Advance(AttemptTimeout);
        await body.ReadIsWaitingAsync();
        _time.Advance(AttemptTimeout - Millisecond);
        Assert.False(body.ReadToken.IsCancellationRequested, "the body timed out before the attempt timeout since its headers");
        if (bodyInTime)
        {
            body.Send(Completion);
            body.End();
            await using var answered = await Ended(execution);

            Assert.Null(answered.Error);
            Assert.Equal(["ok"], Outcomes(answered));
            Assert.Equal(1, answered.Summary.ChoiceCount);
            return;
        }

        _time.Advance(Millisecond);
        Assert.True(body.ReadToken.IsCancellationRequested, "the body did not time out at the attempt timeout since its headers");

        await using var result = await Ended(execution);

        Assert.Equal([BodyLate], Outcomes(result));
        Assert.Equal(504, result.Error?.Status);
    }

    [Fact]
    public async Task The_total_timeout_ends_the_attempt_in_flight_without_counting_against_its_deployment()
    {
        // a and b time out at 10 and 20 s; c, called at 20 s, is cut by the 25 s budget, not by its own 10 s.
        var execution = ExecuteAsync(stream: false, "a", "b", "c");
        await _provider.NextCallAsync();
        _time.Advance(AttemptTimeout);
        await _provider.NextCallAsync();
        _time.Advance(AttemptTimeout);
        var c = await _provider.NextCallAsync();
        _time.Advance(TotalTimeout - (2 * AttemptTimeout) - Millisecond);
        Assert.False(c.Token.IsCancellationRequested, "the request timed out before its total timeout");
        _time.Advance(Millisecond);
        Assert.True(c.Token.IsCancellationRequested, "the request did not time out at its total timeout");

        await using var result = await Ended(execution);

        Assert.Equal([NoResponse, NoResponse, "total timeout"], Outcomes(result));
        Assert.Equal(504, result.Error?.Status);
        Assert.Equal(CircuitState.Open, _health.StateOf("b"));
        Assert.Equal(CircuitState.Closed, _health.StateOf("c"));
    }

    [Fact]
    public async Task The_total_timeout_ends_a_body_read_within_its_attempts_time()
    {
        // b's headers come at 18 s, so its body could take until 28 s; the request's budget ends it at 25 s.
        var execution = ExecuteAsync(stream: false, "a", "b");
        await _provider.NextCallAsync();
        _time.Advance(AttemptTimeout);
        var b = await _provider.NextCallAsync();
        _time.Advance(TimeSpan.FromSeconds(8));
        var body = new ScriptedStream();
        b.Answer(Json(body));
        await body.ReadIsWaitingAsync();
        _time.Advance(TimeSpan.FromSeconds(7) - Millisecond);
        Assert.False(body.ReadToken.IsCancellationRequested, "the request timed out before its total timeout");
        _time.Advance(Millisecond);
        Assert.True(body.ReadToken.IsCancellationRequested, "the request did not time out at its total timeout");

        await using var result = await Ended(execution);

        Assert.Equal([NoResponse, "total timeout"], Outcomes(result));
        Assert.Equal(CircuitState.Closed, _health.StateOf("b"));
    }

    [Fact]
    public async Task The_total_timeout_ends_the_body_read_of_headers_that_arrived_as_the_attempts_timer_fired()
    {
        // b's headers come as its timer fires at 20 s, so its body gets a timer of its own, to 30 s; the budget still
        // ends it at 25 s.
        var execution = ExecuteAsync(stream: false, "a", "b");
        await _provider.NextCallAsync();
        _time.Advance(AttemptTimeout);
        var body = new ScriptedStream();
        (await _provider.NextCallAsync()).AnswerWhenCancelled(Json(body));
        _time.Advance(AttemptTimeout);
        await body.ReadIsWaitingAsync();
        _time.Advance(TotalTimeout - (2 * AttemptTimeout) - Millisecond);
        Assert.False(body.ReadToken.IsCancellationRequested, "the request timed out before its total timeout");
        _time.Advance(Millisecond);
        Assert.True(body.ReadToken.IsCancellationRequested, "the request did not time out at its total timeout");

        await using var result = await Ended(execution);

        Assert.Equal([NoResponse, "total timeout"], Outcomes(result));
        Assert.Equal(CircuitState.Closed, _health.StateOf("b"));
    }

    [Fact]
    public async Task The_total_timeout_bounds_the_wait_for_a_streams_first_chunk_and_the_attempt_timeout_does_not()
    {
        // The stream's own idle timeout (60 s) is longer than the request's budget; the attempt's timer fires at 10 s
        // with nothing left to cancel, as the headers are in.
        var execution = ExecuteAsync(stream: true, "a");
        var events = new ScriptedStream();
        (await _provider.NextCallAsync()).Answer(new UpstreamResponse(200, events, "text/event-stream", null, null));
        await events.ReadIsWaitingAsync();
        _time.Advance(TotalTimeout - Millisecond);
        Assert.False(events.ReadToken.IsCancellationRequested, "the stream's first chunk was given up before the total timeout");
        _time.Advance(Millisecond);
        Assert.True(events.ReadToken.IsCancellationRequested, "the stream's first chunk was not given up at the total timeout");

        await using var result = await Ended(execution);

        Assert.Equal(["total timeout"], Outcomes(result));
        Assert.Equal(504, result.Error?.Status);
        Assert.Equal(CircuitState.Closed, _health.StateOf("a"));
    }

    [Fact]
    public async Task A_client_that_leaves_cancels_the_attempt_in_flight_and_the_request()
    {
        using var client = new CancellationTokenSource();
        var execution = _executor.ExecuteAsync("req-1", Request(stream: false), [Model("a")], client.Token);
        var a = await _provider.NextCallAsync();
        await client.CancelAsync();
        Assert.True(a.Token.IsCancellationRequested, "the client left but the attempt went on");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Ended(execution));
        Assert.Equal(CircuitState.Closed, _health.StateOf("a"));
    }

    private Task<ExecutionResult> ExecuteAsync(bool stream, params string[] models) =>
        _executor.ExecuteAsync("req-1", Request(stream), [.. models.Select(Model)], CancellationToken.None);

    private static ChatRequest Request(bool stream)
    {
        var body = stream
            ? """{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}"""u8.ToArray()
            : """{"model":"m","messages":[{"role":"user","content":"hi"}]}"""u8.ToArray();
        Assert.True(ChatRequestParser.TryParse(body, out var request, out _));
        return request;
    }

    private static CatalogModel Model(string id) => new()
    {
        Id = id,
        Provider = new ProviderDescriptor("p", ProviderType.OpenAI, new Uri("http://127.0.0.1:1/v1"), null, ""),
        UpstreamModel = id,
        Tier = ModelTier.Economy,
    };

    private static UpstreamResponse Json(string body) => Json(new MemoryStream(Encoding.UTF8.GetBytes(body)));

    private static UpstreamResponse Json(Stream body) => new(200, body, "application/json", null, null);

    private static string[] Outcomes(ExecutionResult result) => [.. result.Attempts.Select(a => a.Outcome)];

    // Bounds the wait for what the test's script should have ended, so an executor whose timer did not fire when it
    // should fails the test instead of hanging it.
    private static Task<T> Ended<T>(Task<T> task) => task.WaitAsync(TimeSpan.FromSeconds(10));

    /// <summary>A provider whose calls the test answers, one by one, when its script says.</summary>
    private sealed class ScriptedProvider : IModelClient
    {
        private readonly Channel<ProviderCall> _calls = Channel.CreateUnbounded<ProviderCall>();

        public async Task<UpstreamResponse> SendAsync(UpstreamRequest request, CancellationToken cancellationToken)
        {
            var call = new ProviderCall(cancellationToken);
            using (cancellationToken.Register(call.Cancelled))
            {
                Assert.True(_calls.Writer.TryWrite(call));
                return await call.Response;
            }
        }

        // The bound only turns a test whose script is wrong into a failure rather than a hang.
        public async Task<ProviderCall> NextCallAsync() => await _calls.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>One call waiting for its response headers; the test answers it, or its token cancels it.</summary>
    private sealed class ProviderCall(CancellationToken token)
    {
        // The executor goes on in a thread of its own, not inside the test's Advance or Answer.
        private readonly TaskCompletionSource<UpstreamResponse> _response = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private UpstreamResponse? _whenCancelled;

        public CancellationToken Token => token;

        public Task<UpstreamResponse> Response => _response.Task;

        public void Answer(UpstreamResponse response) => Assert.True(_response.TrySetResult(response));

        // Headers that come in just as the attempt's time runs out: the call answers its cancellation with them.
        public void AnswerWhenCancelled(UpstreamResponse response) => _whenCancelled = response;

        public void Cancelled()
        {
            if (_whenCancelled is { } response)
            {
                _response.TrySetResult(response);
            }
            else
            {
                _response.TrySetCanceled(token);
            }
        }
    }
}
