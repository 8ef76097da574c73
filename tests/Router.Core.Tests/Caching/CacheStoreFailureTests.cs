using System.Net;
using System.Text;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Caching;
using Router.Core.Chat;

namespace Router.Core.Tests.Caching;

/// <summary>The cache sits in front of every chat request: a store that fails (Cosmos DB answering 429 past its retries,
/// 503, 403, a container that is missing) or hangs must cost a cache miss and a log line, never the request itself.</summary>
public sealed class CacheStoreFailureTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly RecordingLogger _log = new();

    private ResponseCacheService Cache(IResponseCacheStore store, SemanticCacheOptions? options = null) =>
        new(store, new SemanticGuard(new SemanticGuardOptions()), Options.Create(options ?? new SemanticCacheOptions()), _time, _log);

    private static ChatRequest Request(string prompt)
    {
        var json = $$"""{"model":"auto","messages":[{"role":"user","content":"{{prompt}}"}]}""";
        Assert.True(ChatRequestParser.TryParse(Encoding.UTF8.GetBytes(json), out var request, out _));
        return request;
    }

    [Theory]
    [InlineData(HttpStatusCode.TooManyRequests)]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData(HttpStatusCode.Forbidden)]
    [InlineData(HttpStatusCode.NotFound)]
    public async Task A_store_that_fails_the_exact_read_is_a_miss_with_a_log_line(HttpStatusCode status)
    {
        var store = new FailingStore { Exact = status };
        var cache = Cache(store);

        var hit = await cache.LookupAsync("acme", Request("what is the capital of france"), new float[] { 1, 0 }, "m", null, CancellationToken.None);

        Assert.Null(hit);
        Assert.Contains(_log.Lines, l => l.Contains("CosmosException", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_store_that_fails_the_vector_search_is_a_miss_with_a_log_line()
    {
        var store = new FailingStore { Search = HttpStatusCode.ServiceUnavailable };
        var cache = Cache(store);

        var hit = await cache.LookupAsync("acme", Request("what is the capital of france"), new float[] { 1, 0 }, "m", null, CancellationToken.None);

        Assert.Null(hit);
        Assert.Equal(1, store.Searches);
        Assert.Contains(_log.Lines, l => l.Contains("CosmosException", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_store_that_hangs_is_given_up_on_after_the_lookup_timeout()
    {
        var store = new FailingStore { HangExact = true };
        var cache = Cache(store, new SemanticCacheOptions { LookupTimeout = TimeSpan.FromSeconds(2) });

        var lookup = cache.LookupAsync("acme", Request("what is the capital of france"), new float[] { 1, 0 }, "m", null, CancellationToken.None);
        await store.ExactStarted.Task;
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(lookup.IsCompleted, "the lookup gave up before its timeout");
        _time.Advance(TimeSpan.FromSeconds(1));

        // The fake clock fires the timeout synchronously: a store call that was not given a bounded token would hang here.
        Assert.True(store.ExactToken.IsCancellationRequested, "the store call was not told to stop: a hung Cosmos DB call would hold the request for good");
        Assert.Null(await lookup);
        Assert.Contains(_log.Lines, l => l.Contains("timed out", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_client_that_hangs_up_still_cancels_the_lookup()
    {
        var store = new FailingStore { HangExact = true };
        var cache = Cache(store);
        using var disconnected = new CancellationTokenSource();

        var lookup = cache.LookupAsync("acme", Request("what is the capital of france"), new float[] { 1, 0 }, "m", null, disconnected.Token);
        await store.ExactStarted.Task;
        await disconnected.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => lookup);
    }

    private sealed class FailingStore : IResponseCacheStore
    {
        public HttpStatusCode? Exact { get; init; }

        public HttpStatusCode? Search { get; init; }

        public bool HangExact { get; init; }

        public int Searches { get; private set; }

        public TaskCompletionSource ExactStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationToken ExactToken { get; private set; }

        public async ValueTask<CachedAnswer?> GetExactAsync(string tenantId, string scope, string embeddingModel, string id, CancellationToken cancellationToken)
        {
            ExactToken = cancellationToken;
            ExactStarted.TrySetResult();
            if (HangExact)
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            }

            await Task.Yield();
            return Exact is { } status ? throw new CosmosException("failed", status, 0, "activity", 1) : null;
        }

        public async ValueTask<IReadOnlyList<CacheCandidate>> SearchAsync(string tenantId, string scope, string embeddingModel, ReadOnlyMemory<float> embedding, float minSimilarity, int top, CancellationToken cancellationToken)
        {
            Searches++;
            await Task.Yield();
            return Search is { } status ? throw new CosmosException("failed", status, 0, "activity", 1) : [];
        }

        public ValueTask StoreAsync(CachedAnswer answer, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    private sealed class RecordingLogger : ILogger<ResponseCacheService>
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines)
            {
                _lines.Add(formatter(state, exception));
            }
        }
    }
}
