using System.Net;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Infrastructure.Caching;

namespace Router.Core.Tests.Caching;

/// <summary>With <c>CreateIfMissing</c>, the Cosmos cache creates its database and container on first use and keeps the
/// task per container: a failed or cancelled creation must not turn every later cache call into that failure.</summary>
public sealed class CosmosContainerRecoveryTests
{
    private static readonly IOptions<CosmosCacheOptions> Options_ =
        Options.Create(new CosmosCacheOptions { Endpoint = new Uri("https://localhost:8081/"), Database = "router", CreateIfMissing = true });

    [Fact]
    public async Task A_container_creation_that_failed_is_tried_again_by_the_next_lookup()
    {
        var client = new CountingCosmosClient();
        var store = new CosmosResponseCacheStore(client, Options_, new FakeTimeProvider(), NullLogger<CosmosResponseCacheStore>.Instance);

        // Cosmos answers 503 to the first request's lookup.
        await Assert.ThrowsAsync<CosmosException>(async () => await store.GetExactAsync("acme", "scope", "all-MiniLM-L6-v2-int8", "id", CancellationToken.None));
        await Record.ExceptionAsync(async () => await store.GetExactAsync("acme", "scope", "all-MiniLM-L6-v2-int8", "id", CancellationToken.None));

        Assert.True(client.CreateCalls == 2,
            $"the second lookup never asked Cosmos again (creation attempts: {client.CreateCalls}): the faulted Task<Container> stays in _containers, so the cache is off until restart");
    }

    [Fact]
    public async Task A_client_that_hangs_up_during_the_first_lookup_does_not_cancel_every_later_one()
    {
        var client = new CountingCosmosClient { HangFirst = true };
        var store = new CosmosResponseCacheStore(client, Options_, new FakeTimeProvider(), NullLogger<CosmosResponseCacheStore>.Instance);

        // The first request's client disconnects while the database is being created.
        using var disconnected = new CancellationTokenSource();
        var first = store.GetExactAsync("acme", "scope", "all-MiniLM-L6-v2-int8", "id", disconnected.Token).AsTask();
        await client.FirstCallStarted.Task;
        await disconnected.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);

        // A later request, not cancelled at all.
        var later = await Record.ExceptionAsync(async () => await store.GetExactAsync("acme", "scope", "all-MiniLM-L6-v2-int8", "id", CancellationToken.None));

        Assert.False(later is OperationCanceledException,
            $"a request that was never cancelled failed with {later?.GetType().Name}: the first request's token cancelled the shared container task, cached for good (creation attempts: {client.CreateCalls})");
    }

    // Fails every creation with a 503 (the first one optionally hangs until its token is cancelled).
    private sealed class CountingCosmosClient : CosmosClient
    {
        private int _createCalls;

        public bool HangFirst { get; init; }

        public TaskCompletionSource FirstCallStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int CreateCalls => Volatile.Read(ref _createCalls);

        public override async Task<DatabaseResponse> CreateDatabaseIfNotExistsAsync(
            string id, int? throughput = null, RequestOptions? requestOptions = null, CancellationToken cancellationToken = default)
        {
            var call = Interlocked.Increment(ref _createCalls);
            FirstCallStarted.TrySetResult();
            if (call == 1 && HangFirst)
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            }

            await Task.Yield();
            throw new CosmosException("Service unavailable", HttpStatusCode.ServiceUnavailable, 0, "activity", 1);
        }
    }
}
