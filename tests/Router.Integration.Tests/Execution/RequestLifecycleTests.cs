using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using Router.Core.Caching;
using Router.Core.Metering;
using Router.Infrastructure.Metering;
using Router.Testing.Simulator;
using Xunit.Abstractions;

namespace Router.Integration.Tests.Execution;

/// <summary>A request's whole life when it does not end well: a client that leaves, a provider that hangs or stalls, a
/// store that throws after the budget was reserved. Whatever ends it, the provider call is cancelled, what the provider
/// produced is billed, exactly one usage row is written, the budget reservation is settled once (so the budget does not
/// look spent by a request that is over) and nothing is logged as a failure of the router.</summary>
public sealed class RequestLifecycleTests(ITestOutputHelper output) : IAsyncLifetime
{
    // Every token costs a tenth of a cent, so one reservation (prompt + max_tokens 100) takes over half of the $0.2 daily
    // budget: while a reservation is held, the next request cannot be admitted.
    private const string Budget = "0.2";

    private SimulatedProvider _simulator = null!;
    private RouterServerHost? _router;
    private readonly CountingLedger _ledger = new();

    public async Task InitializeAsync() => _simulator = await SimulatedProvider.StartAsync();

    public async Task DisposeAsync()
    {
        if (_router is not null)
        {
            await _router.DisposeAsync();
        }

        await _simulator.DisposeAsync();
    }

    private async Task<RouterServerHost> StartRouterAsync(Dictionary<string, string?>? extra = null, Action<IServiceCollection>? services = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Router:UseDefaultCatalog"] = "false",
            ["Router:Providers:sim:Endpoint"] = _simulator.BaseUrl.ToString(),
            ["Router:Models:primary:Provider"] = "sim",
            ["Router:Models:primary:Tier"] = "Economy",
            ["Router:Models:primary:InputCostPerMillion"] = "1000",
            ["Router:Models:primary:OutputCostPerMillion"] = "1000",
            ["Router:Models:alternate:Provider"] = "sim",
            ["Router:Models:alternate:Tier"] = "Economy",
            ["Router:Models:alternate:InputCostPerMillion"] = "1000",
            ["Router:Models:alternate:OutputCostPerMillion"] = "1000",
            ["Router:Tenants:local:DailyBudgetUsd"] = Budget,
            ["Router:Tenants:local:PerCallFeeUsd"] = "0.001",
            ["Router:Embeddings:Provider"] = "None",
            ["Router:Audits:Enabled"] = "false",
        };
        foreach (var (name, value) in extra ?? [])
        {
            settings[name] = value;
        }

        _router = await RouterServerHost.StartAsync(settings, builder =>
        {
            builder.Services.AddSingleton<IUsageLedger>(_ledger);
            services?.Invoke(builder.Services);
        });
        return _router;
    }

    // The official SDK, closing its connection at once when a caller stops reading (no draining of the rest).
    private ChatClient Sdk(string model = "primary") =>
        new(model, new ApiKeyCredential("no-key-needed-on-loopback"), new OpenAIClientOptions
        {
            Endpoint = new Uri(_router!.BaseUrl, "v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            Transport = new HttpClientPipelineTransport(new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 })),
            NetworkTimeout = TimeSpan.FromSeconds(60),
        });

    private static ChatCompletionOptions MaxTokens(int n = 100) => new() { MaxOutputTokenCount = n };

    private async Task<ReceivedRequest> ReceivedAsync(string model, int count)
    {
        for (var i = 0; i < 300 && _simulator.ReceivedFor(model) < count; i++)
        {
            await Task.Delay(50);
        }

        return _simulator.Received.Where(r => r.Model == model).ElementAt(count - 1);
    }

    /// <summary>The row of the only request recorded, once it is written (rows follow the answer by a moment).</summary>
    private async Task<UsageRecord> OnlyRowAsync()
    {
        for (var i = 0; i < 600 && _ledger.Rows.IsEmpty; i++)
        {
            await Task.Delay(50);
        }

        var row = Assert.Single(_ledger.Rows.Values);
        output.WriteLine($"row: {row.Model} {row.Outcome} {row.ErrorCode} {row.PromptTokens}+{row.CompletionTokens} tokens ({row.UsageSource}), cost {row.CostUsd}, fee {row.FeeUsd}");
        Assert.Equal(1, _ledger.Calls[row.RequestId]);
        return row;
    }

    // A reservation still held would make this request wait for it (30 s) and then refuse it with a 402.
    private async Task AssertBudgetFreeAsync()
    {
        _simulator.Model("primary").PauseAfterFirstChunk = null;
        var answer = await Sdk().CompleteChatAsync([new UserChatMessage("Is the budget free again?")], MaxTokens());
        Assert.Contains("Simulated answer", answer.Value.Content[0].Text, StringComparison.Ordinal);
    }

    private void AssertNothingLoggedAsFailure()
    {
        var failures = _router!.LogLines.Where(l => l.StartsWith("Error ", StringComparison.Ordinal) || l.StartsWith("Critical ", StringComparison.Ordinal)
            || l.Contains("\n   at ", StringComparison.Ordinal)).ToList();
        Assert.True(failures.Count == 0, "logged as a failure:\n" + string.Join('\n', failures));
    }

    [Fact]
    public async Task A_client_that_leaves_mid_stream_cancels_the_call_is_billed_what_was_streamed_once_and_frees_its_budget()
    {
        await StartRouterAsync();
        var hold = new TaskCompletionSource();
        _simulator.Model("primary").PauseAfterFirstChunk = hold.Task;
        try
        {
            var updates = 0;
            await foreach (var update in Sdk().CompleteChatStreamingAsync([new UserChatMessage("Tell me a long story.")], MaxTokens()))
            {
                if (update.ContentUpdate.Count > 0 && ++updates == 1)
                {
                    break;   // the client leaves after the first words
                }
            }

            var upstream = await ReceivedAsync("primary", 1);
            await upstream.Aborted.WaitAsync(TimeSpan.FromSeconds(15));

            var row = await OnlyRowAsync();
            Assert.Equal(UsageOutcomes.Cancelled, row.Outcome);
            Assert.True(row.CompletionTokens > 0 && row.PromptTokens > 0, "what was generated before the client left is billed");
            Assert.True(row.CostUsd > 0);
        }
        finally
        {
            hold.TrySetResult();
        }

        await AssertBudgetFreeAsync();
        AssertNothingLoggedAsFailure();
    }

    [Fact]
    public async Task A_client_that_leaves_before_a_non_streaming_answer_cancels_the_call_and_frees_its_budget()
    {
        await StartRouterAsync();
        _simulator.Model("primary").Script.Enqueue(new SimulatedFault.Hang());
        using var leave = new CancellationTokenSource();
        var call = Sdk().CompleteChatAsync([new UserChatMessage("A question the client stops waiting for.")], MaxTokens(), leave.Token);

        var upstream = await ReceivedAsync("primary", 1);
        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await upstream.Aborted.WaitAsync(TimeSpan.FromSeconds(15));

        var row = await OnlyRowAsync();
        Assert.Equal(UsageOutcomes.Cancelled, row.Outcome);
        Assert.Equal(1, _simulator.ReceivedFor("primary") + _simulator.ReceivedFor("alternate"));   // no failover for a client that left

        await AssertBudgetFreeAsync();
        AssertNothingLoggedAsFailure();
    }

    [Fact]
    public async Task A_provider_that_hangs_before_its_headers_is_failed_over_after_the_attempt_timeout()
    {
        await StartRouterAsync(new() { ["Router:Execution:AttemptTimeout"] = "00:00:05" });   // the alternate's attempt too
        _simulator.Model("primary").Script.Enqueue(new SimulatedFault.Hang());

        var answer = await Sdk().CompleteChatAsync([new UserChatMessage("Answer even though the first model hangs.")], MaxTokens());

        Assert.Contains("from alternate", answer.Value.Content[0].Text, StringComparison.Ordinal);
        await (await ReceivedAsync("primary", 1)).Aborted.WaitAsync(TimeSpan.FromSeconds(15));   // the hung call is not left open
        var row = await OnlyRowAsync();
        Assert.Equal(UsageOutcomes.Success, row.Outcome);
        Assert.Equal("alternate", row.Model);
        Assert.Equal(1, row.Fallbacks);
        await AssertBudgetFreeAsync();
    }

    [Fact]
    public async Task A_stream_that_stalls_after_it_started_ends_with_an_error_event_is_billed_and_frees_its_budget()
    {
        await StartRouterAsync(new() { ["Router:Execution:StreamIdleTimeout"] = "00:00:03" });
        var hold = new TaskCompletionSource();
        _simulator.Model("primary").PauseAfterFirstChunk = hold.Task;
        try
        {
            using var response = await _router!.Http.PostAsync("v1/chat/completions", TestJson.Body("""{"model":"primary","stream":true,"max_tokens":100,"messages":[{"role":"user","content":"A stream that stalls."}]}"""));
            var text = await response.Content.ReadAsStringAsync();
            output.WriteLine(text);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("event: error", text, StringComparison.Ordinal);
            Assert.Contains("stream_interrupted", text, StringComparison.Ordinal);
            Assert.DoesNotContain("[DONE]", text, StringComparison.Ordinal);
            await (await ReceivedAsync("primary", 1)).Aborted.WaitAsync(TimeSpan.FromSeconds(15));

            var row = await OnlyRowAsync();
            Assert.Equal(UsageOutcomes.Error, row.Outcome);
            Assert.Equal("stream_interrupted", row.ErrorCode);
            Assert.True(row.CompletionTokens > 0 && row.CostUsd > 0, "what the provider streamed before it stalled is billed at cost");
            Assert.Equal(0, row.FeeUsd);
        }
        finally
        {
            hold.TrySetResult();
        }

        await AssertBudgetFreeAsync();
    }

    [Fact]
    public async Task A_client_connection_that_breaks_under_a_write_is_billed_what_was_streamed_and_frees_its_budget()
    {
        // The client's connection breaks as the router writes the stream's third event: the write fails with an I/O
        // error, not a cancellation, as a socket reset by a proxy in front of the router does.
        await StartRouterAsync(services: s => s.AddSingleton<IStartupFilter>(new BreakingResponseFilter(failingWrite: 3)));

        try
        {
            using var response = await _router!.Http.PostAsync("v1/chat/completions", TestJson.Body("""{"model":"primary","stream":true,"max_tokens":100,"messages":[{"role":"user","content":"A stream whose client connection breaks."}]}"""));
            output.WriteLine(await response.Content.ReadAsStringAsync());
        }
        catch (HttpRequestException ex)
        {
            output.WriteLine("the stream broke off: " + ex.Message);   // what the client sees of a broken connection varies
        }

        var row = await OnlyRowAsync();
        Assert.Equal(UsageOutcomes.Cancelled, row.Outcome);
        Assert.Equal("client_closed", row.ErrorCode);
        Assert.True(row.CompletionTokens > 0 && row.CostUsd > 0, "what was streamed before the connection broke is billed");
        await AssertBudgetFreeAsync();
        AssertNothingLoggedAsFailure();
    }

    [Fact]
    public async Task A_stream_that_sends_only_keep_alives_after_it_started_ends_as_stalled_is_billed_and_frees_its_budget()
    {
        // Comments every 200 ms, well inside the 3 s idle timeout: they prove the connection is up, not that the answer
        // is coming, so the stream still ends once no data came for the idle timeout.
        await StartRouterAsync(new() { ["Router:Execution:StreamIdleTimeout"] = "00:00:03" });
        _simulator.Model("primary").Script.Enqueue(new SimulatedFault.KeepAliveForever(3, TimeSpan.FromMilliseconds(200)));

        // Only a bound on the test, so it fails instead of hanging when the stream never ends.
        using var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var response = await _router!.Http.PostAsync("v1/chat/completions", TestJson.Body("""{"model":"primary","stream":true,"max_tokens":100,"messages":[{"role":"user","content":"A stream that only keeps alive."}]}"""), giveUp.Token);
        var text = await response.Content.ReadAsStringAsync(giveUp.Token);
        output.WriteLine(text);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(": keep-alive", text, StringComparison.Ordinal);
        Assert.Contains("event: error", text, StringComparison.Ordinal);
        Assert.Contains("stream_interrupted", text, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", text, StringComparison.Ordinal);
        await (await ReceivedAsync("primary", 1)).Aborted.WaitAsync(TimeSpan.FromSeconds(15));

        var row = await OnlyRowAsync();
        Assert.Equal(UsageOutcomes.Error, row.Outcome);
        Assert.Equal("stream_interrupted", row.ErrorCode);
        Assert.True(row.CompletionTokens > 0 && row.CostUsd > 0, "what the provider streamed before it went quiet is billed at cost");
        await AssertBudgetFreeAsync();
    }

    [Fact]
    public async Task A_usage_store_that_fails_neither_changes_the_answer_nor_keeps_the_budget_reserved()
    {
        _ledger.FailWith = new IOException("The usage table did not answer.");
        await StartRouterAsync();

        var answer = await Sdk().CompleteChatAsync([new UserChatMessage("An answer whose row cannot be written.")], MaxTokens());

        Assert.Contains("Simulated answer", answer.Value.Content[0].Text, StringComparison.Ordinal);
        for (var i = 0; i < 600 && _ledger.Calls.IsEmpty; i++)
        {
            await Task.Delay(50);
        }

        _ledger.FailWith = null;
        await AssertBudgetFreeAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_cache_that_throws_neither_changes_the_answer_nor_keeps_the_budget_reserved(bool onRead)
    {
        var cache = new FailingCacheStore { FailReads = onRead, FailWrites = !onRead };
        await StartRouterAsync(services: s => s.AddSingleton<IResponseCacheStore>(cache));

        var answer = await Sdk().CompleteChatAsync([new UserChatMessage("An answer the cache cannot keep.")], MaxTokens());

        Assert.Contains("Simulated answer", answer.Value.Content[0].Text, StringComparison.Ordinal);
        Assert.True(cache.Calls > 0, "the cache was asked");
        var row = await OnlyRowAsync();
        Assert.Equal(UsageOutcomes.Success, row.Outcome);
        Assert.True(row.CostUsd > 0);
        await AssertBudgetFreeAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_stream_of_several_choices_is_billed_from_the_providers_usage_and_shows_usage_only_when_asked(bool includeUsage)
    {
        await StartRouterAsync();
        var body = new JsonObject
        {
            ["model"] = "primary",
            ["stream"] = true,
            ["n"] = 2,
            ["max_tokens"] = 40,
            ["stream_options"] = new JsonObject { ["include_usage"] = includeUsage, ["include_obfuscation"] = false },
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Two takes, please." }),
        };

        using var response = await _router!.Http.PostAsync("v1/chat/completions", TestJson.Body(body.ToJsonString()));
        var text = await response.Content.ReadAsStringAsync();
        output.WriteLine(text);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
        Assert.Contains("\"index\":1", text, StringComparison.Ordinal);
        Assert.Equal(includeUsage, text.Contains("\"usage\":{", StringComparison.Ordinal));
        var upstream = JsonNode.Parse((await ReceivedAsync("primary", 1)).Body)!;
        Assert.True(upstream["stream_options"]!["include_usage"]!.GetValue<bool>(), "usage is always asked of the provider");
        Assert.False(upstream["stream_options"]!["include_obfuscation"]!.GetValue<bool>(), "the client's other stream options reach the provider");

        var row = await OnlyRowAsync();
        Assert.Equal("provider", row.UsageSource);
        var answer = SimulatedProvider.DefaultAnswer("primary", "Two takes, please.");
        Assert.Equal(2 * SimulatedProvider.CountTokens(answer), row.CompletionTokens);
    }

    /// <summary>The in-memory ledger, counting the writes of each request id, and failing them when told to.</summary>
    private sealed class CountingLedger : IUsageLedger
    {
        private readonly InMemoryUsageLedger _inner = new();

        public ConcurrentDictionary<string, int> Calls { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, UsageRecord> Rows { get; } = new(StringComparer.Ordinal);

        public Exception? FailWith { get; set; }

        public async ValueTask<bool> RecordAsync(UsageRecord record, CancellationToken cancellationToken)
        {
            Calls.AddOrUpdate(record.RequestId, 1, (_, n) => n + 1);
            if (FailWith is { } failure)
            {
                throw failure;
            }

            Rows[record.RequestId] = record;
            return await _inner.RecordAsync(record, cancellationToken);
        }

        public IAsyncEnumerable<UsageRecord> QueryAsync(string tenantId, DateOnly from, DateOnly to, CancellationToken cancellationToken) => _inner.QueryAsync(tenantId, from, to, cancellationToken);

        public IAsyncEnumerable<UsageRecord> QueryAllAsync(DateOnly from, DateOnly to, CancellationToken cancellationToken) => _inner.QueryAllAsync(from, to, cancellationToken);

        public ValueTask<bool> SetAuditScoreAsync(string tenantId, DateTimeOffset timestamp, string requestId, double score, CancellationToken cancellationToken) =>
            _inner.SetAuditScoreAsync(tenantId, timestamp, requestId, score, cancellationToken);
    }

    /// <summary>Puts a response body in front of streamed chat answers whose <paramref name="failingWrite"/>th write fails
    /// with an <see cref="IOException"/>, as a write to a connection that broke does.</summary>
    private sealed class BreakingResponseFilter(int failingWrite) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                if (context.Request.Path.StartsWithSegments("/v1/chat/completions"))
                {
                    context.Response.Body = new BreakingStream(context.Response.Body, failingWrite);
                }

                await nextMiddleware(context);
            });
            next(app);
        };
    }

    private sealed class BreakingStream(Stream inner, int failingWrite) : Stream
    {
        private int _writes;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            ++_writes >= failingWrite
                ? ValueTask.FromException(new IOException("Connection reset by peer."))
                : inner.WriteAsync(buffer, cancellationToken);
    }

    /// <summary>A cache store whose reads or writes fail, as a cache database that cannot be reached.</summary>
    private sealed class FailingCacheStore : IResponseCacheStore
    {
        private int _calls;

        public bool FailReads { get; init; }

        public bool FailWrites { get; init; }

        public int Calls => Volatile.Read(ref _calls);

        public ValueTask<CachedAnswer?> GetExactAsync(string tenantId, string scope, string embeddingModel, string id, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return FailReads ? throw new IOException("The cache did not answer.") : ValueTask.FromResult<CachedAnswer?>(null);
        }

        public ValueTask<IReadOnlyList<CacheCandidate>> SearchAsync(string tenantId, string scope, string embeddingModel, ReadOnlyMemory<float> embedding, float minSimilarity, int top, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return FailReads ? throw new IOException("The cache did not answer.") : ValueTask.FromResult<IReadOnlyList<CacheCandidate>>([]);
        }

        public ValueTask StoreAsync(CachedAnswer answer, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return FailWrites ? throw new IOException("The cache did not answer.") : ValueTask.CompletedTask;
        }
    }
}
