using System.Globalization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Audits;
using Router.Core.Catalog;
using Router.Core.Execution;
using Router.Core.Telemetry;
using Router.Core.Tests.Catalog;
using Router.Core.Tests.Execution;
using Router.Core.Weights;
using Router.Infrastructure.Audits;
using Router.Infrastructure.Metering;

namespace Router.Core.Tests.Audits;

/// <summary>The self-hosted server's audit worker on the embedded channel: failed jobs wait for their retry in one
/// schedule on the time provider, counted against the channel's capacity.</summary>
public sealed class ChannelAuditWorkerTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
    private readonly ChannelAuditQueue _queue = new();
    private readonly FailingModels _models = new();

    [Fact]
    public async Task A_job_that_keeps_failing_is_tried_again_as_its_backoff_passes_on_the_clock_and_then_poisoned()
    {
        using var worker = Worker();
        await worker.StartAsync(CancellationToken.None);
        await _queue.EnqueueAsync(Job("req_down"), CancellationToken.None);

        // 15 s, 1, 4 and 16 min between the five deliveries.
        await WaitUntilAsync(() => _models.Calls == 1 && _queue.RetriesWaiting == 1);
        foreach (var (wait, delivery) in new[] { (15, 2), (60, 3), (240, 4), (960, 5) })
        {
            _time.Advance(TimeSpan.FromSeconds(wait - 1));
            Assert.Equal(delivery - 1, _models.Calls);
            Assert.Equal(1, _queue.RetriesWaiting);

            _time.Advance(TimeSpan.FromSeconds(1));
            await WaitUntilAdvancingAsync(() => _models.Calls == delivery && (_queue.RetriesWaiting == 1 || delivery == 5));
        }

        await WaitUntilAsync(async () => (await _queue.InspectAsync(10, CancellationToken.None)).ApproximateCount == 1);
        await worker.StopAsync(CancellationToken.None);
        var poisoned = await _queue.InspectAsync(10, CancellationToken.None);
        Assert.Equal(0, _queue.RetriesWaiting);
        Assert.Equal("req_down", Assert.Single(poisoned.Oldest).Id);
    }

    [Fact]
    public async Task A_failed_job_the_full_queue_has_no_room_to_retry_goes_to_the_poison_list_instead_of_vanishing()
    {
        var fail = _models.HoldNextCall();
        using var worker = Worker();
        await worker.StartAsync(CancellationToken.None);
        await _queue.EnqueueAsync(Job("req_first"), CancellationToken.None);
        await WaitUntilAsync(() => _models.Calls == 1);

        // While the first job runs, new samples fill the room it left.
        for (var i = 0; i < ChannelAuditQueue.Capacity; i++)
        {
            await _queue.EnqueueAsync(Job("req_" + i.ToString(CultureInfo.InvariantCulture)), CancellationToken.None);
        }

        Assert.Equal(ChannelAuditQueue.Capacity, _queue.Reader.Count);
        fail.SetResult();

        await WaitUntilAsync(() => _models.Calls > 1);
        await worker.StopAsync(CancellationToken.None);
        var poisoned = await _queue.InspectAsync(10, CancellationToken.None);
        Assert.Equal("req_first", Assert.Single(poisoned.Oldest).Id);
        Assert.True(_queue.Reader.Count + _queue.RetriesWaiting <= ChannelAuditQueue.Capacity);
    }

    [Fact]
    public async Task Jobs_waiting_for_a_retry_take_room_from_new_samples()
    {
        Assert.True(_queue.TryRetryLater(Job("req_retry"), 2, _time.GetUtcNow().AddSeconds(15)));
        for (var i = 0; i < ChannelAuditQueue.Capacity; i++)
        {
            await _queue.EnqueueAsync(Job("req_" + i.ToString(CultureInfo.InvariantCulture)), CancellationToken.None);
        }

        Assert.Equal(ChannelAuditQueue.Capacity - 1, _queue.Reader.Count);
        Assert.False(_queue.TryRetryLater(Job("req_late"), 2, _time.GetUtcNow().AddSeconds(15)));

        // Not due yet: it stays out of the channel; once due it takes its place there.
        Assert.Equal(_time.GetUtcNow().AddSeconds(15), _queue.RequeueDue(_time.GetUtcNow()).NextDue);
        var (next, _) = _queue.RequeueDue(_time.GetUtcNow().AddSeconds(15));
        Assert.Null(next);
        Assert.Equal(0, _queue.RetriesWaiting);
        Assert.Equal(ChannelAuditQueue.Capacity, _queue.Reader.Count);
    }

    [Fact]
    public async Task A_failure_whose_retry_hint_is_out_of_range_neither_stops_the_worker_nor_loses_the_job()
    {
        // The reference model refuses the first job with a retry-after-ms no TimeSpan holds (a proxy's garbage, or
        // "Infinity"); it answers the next one (which fails too, but is taken).
        var models = new HintingModels("1e300");
        using var worker = Worker(models);
        await worker.StartAsync(CancellationToken.None);
        await _queue.EnqueueAsync(Job("req_hinted"), CancellationToken.None);
        await WaitUntilAsync(() => models.Calls == 1, TimeSpan.FromSeconds(10));

        await _queue.EnqueueAsync(Job("req_next"), CancellationToken.None);
        var taken = await WaitUntilAsync(() => models.Calls >= 2, TimeSpan.FromSeconds(10));
        var poisoned = await _queue.InspectAsync(10, CancellationToken.None);
        var kept = _queue.RetriesWaiting + poisoned.ApproximateCount;
        await worker.StopAsync(CancellationToken.None);

        Assert.True(taken, "the worker took no job after a failure whose Retry-After hint overflowed (its loop died; the channel now fills and every new sample is dropped)");
        Assert.True(kept >= 1, "the hinted job is neither waiting for its retry nor in the poison list");
    }

    [Fact]
    public async Task A_read_loop_that_ends_with_an_exception_hands_it_to_the_host_rather_than_waiting_on_the_retries()
    {
        // Logging the first failure throws (a broken log sink): the read loop ends with that exception while the job's
        // retry waits on the clock, which does not move.
        using var worker = Worker(logger: new ThrowingLogger());
        await worker.StartAsync(CancellationToken.None);
        await _queue.EnqueueAsync(Job("req_down"), CancellationToken.None);

        var ended = await Record.ExceptionAsync(() => worker.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.True(ended is InvalidOperationException,
            $"the worker's task ended with {ended?.GetType().Name ?? "nothing"}: the read loop's exception waited on the retry loop, which runs until the host stops");
    }

    private AuditQueueWorker Worker(IChatClientProvider? models = null, ILogger<AuditQueueWorker>? logger = null)
    {
        var services = new ServiceCollection().AddSingleton<IAuditQueue>(_queue).BuildServiceProvider();
        var options = Options.Create(new AuditOptions());
        var processor = new AuditProcessor(new ModelCatalog(ModelCatalogTests.Options()), models ?? _models, new InMemoryAuditStore(), new InMemoryUsageLedger(), new RoutingWeightsHolder(),
            options, _time, new RouterTelemetry(new TestMeterFactory()), NullLogger<AuditProcessor>.Instance);
        return new AuditQueueWorker(services, processor, new AuditJobCodec(options), options, _time, logger ?? NullLogger<AuditQueueWorker>.Instance);
    }

    private static Task WaitUntilAsync(Func<bool> condition) => WaitUntilAsync(() => Task.FromResult(condition()));

    private static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        return condition();
    }

    // The worker arms its wait for a retry from a clock reading: when the test moves the clock between that reading and
    // the timer's creation, the timer lands up to that step later on the fake clock (on a real clock, microseconds). So
    // the clock moves on a second at a time while the condition is waited for, after the exact step was taken.
    private async Task WaitUntilAdvancingAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        for (var polls = 1; !condition(); polls++)
        {
            await Task.Delay(10, timeout.Token);
            if (polls % 50 == 0)
            {
                _time.Advance(TimeSpan.FromSeconds(1));
            }
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    private static AuditJob Job(string requestId) => new()
    {
        RequestId = requestId,
        TenantId = "acme",
        Timestamp = DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture),
        Task = "qa",
        Band = "low",
        Model = "small",
        Tier = "economy",
        Reason = "sampled",
        Messages = [new AuditMessage("user", "what is the capital of France?")],
        Answer = "Paris",
    };

    private sealed class ThrowingLogger : ILogger<AuditQueueWorker>
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            throw new InvalidOperationException("log sink down");
    }

    // The reference model is down: every call fails, the first one held back when asked.
    private sealed class FailingModels : IChatClientProvider, IChatClient
    {
        private int _calls;
        private TaskCompletionSource? _held;

        public int Calls => Volatile.Read(ref _calls);

        public TaskCompletionSource HoldNextCall() => _held = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IChatClient For(CatalogModel model) => this;

        public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            if (Interlocked.Exchange(ref _held, null) is { } held)
            {
                await held.Task.WaitAsync(cancellationToken);
            }

            throw new HttpRequestException("model down");
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    // Every call fails; the first with a ClientResultException whose response carries retry-after-ms = the given text.
    private sealed class HintingModels(string retryAfterMs) : IChatClientProvider
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public IChatClient For(CatalogModel model) => Interlocked.Increment(ref _calls) == 1
            ? throw new System.ClientModel.ClientResultException(new HintedResponse(retryAfterMs))
            : throw new HttpRequestException("model down");
    }

    private sealed class HintedResponse(string retryAfterMs) : System.ClientModel.Primitives.PipelineResponse
    {
        public override int Status => 429;

        public override string ReasonPhrase => "Too Many Requests";

        public override Stream? ContentStream { get; set; }

        public override BinaryData Content => BinaryData.FromString("");

        protected override System.ClientModel.Primitives.PipelineResponseHeaders HeadersCore => new HintHeaders(retryAfterMs);

        public override BinaryData BufferContent(CancellationToken cancellationToken = default) => Content;

        public override ValueTask<BinaryData> BufferContentAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(Content);

        public override void Dispose()
        {
        }

        private sealed class HintHeaders(string retryAfterMs) : System.ClientModel.Primitives.PipelineResponseHeaders
        {
            public override bool TryGetValue(string name, out string? value)
            {
                value = string.Equals(name, "retry-after-ms", StringComparison.OrdinalIgnoreCase) ? retryAfterMs : null;
                return value is not null;
            }

            public override bool TryGetValues(string name, out IEnumerable<string>? values)
            {
                values = TryGetValue(name, out var value) ? [value!] : null;
                return values is not null;
            }

            public override IEnumerator<KeyValuePair<string, string>> GetEnumerator()
            {
                yield return new("retry-after-ms", retryAfterMs);
            }
        }
    }
}
