using System.Collections.Concurrent;
using System.Net;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Infrastructure.Caching;
using Router.Infrastructure.Embeddings;

namespace Router.Core.Tests.Caching;

/// <summary>The start-up check of the Cosmos DB cache container: in Azure only the container of the Bicep's
/// <c>embeddingProvider</c> exists and the app cannot create another, so a provider changed on the app alone left every
/// lookup a miss with a warning per request and nothing at start saying which container was missing or how to fix it.
/// The check reads the container once, off the request path, and logs one error (event 1205) naming both.</summary>
public sealed class CosmosCacheContainerCheckTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly FakeLoggerProvider _logs = new();

    private IReadOnlyList<FakeLogRecord> Logged => _logs.Collector.GetSnapshot();

    private CosmosCacheContainerCheck Check(ICosmosCacheContainerReader reader, string provider = "AzureOpenAI", bool createIfMissing = false) => new(
        Options.Create(new CosmosCacheOptions { Endpoint = new Uri("https://127.0.0.1:8081/"), CreateIfMissing = createIfMissing }),
        Options.Create(new EmbeddingOptions { Provider = provider }),
        reader,
        _time,
        new Logger<CosmosCacheContainerCheck>(new LoggerFactory([_logs])));

    [Fact]
    public async Task A_missing_container_is_one_error_naming_the_database_the_container_the_provider_setting_and_the_bicep_fix()
    {
        var reader = new FakeReader(_ => throw new CosmosException("Resource Not Found", HttpStatusCode.NotFound, 0, "activity", 1));

        var state = await Check(reader).CheckAsync("text-embedding-3-small", CancellationToken.None);

        Assert.Equal(CosmosCacheContainerState.Missing, state);
        Assert.Equal([("router", "cache-text-embedding-3-small")], reader.Reads);
        var error = Assert.Single(Logged, l => l.Level == LogLevel.Error);
        Assert.Equal(1205, error.Id.Id);
        Assert.Contains("cache-text-embedding-3-small", error.Message, StringComparison.Ordinal);
        Assert.Contains("database router", error.Message, StringComparison.Ordinal);
        Assert.Contains("Router:Embeddings:Provider AzureOpenAI", error.Message, StringComparison.Ordinal);
        Assert.Contains("404", error.Message, StringComparison.Ordinal);
        Assert.Contains("azd provision", error.Message, StringComparison.Ordinal);
        Assert.Contains("ROUTER_EMBEDDINGS_PROVIDER", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_identity_is_an_error_naming_the_role_it_lacks()
    {
        var reader = new FakeReader(_ => throw new CosmosException("Forbidden", HttpStatusCode.Forbidden, 5301, "activity", 1));

        var state = await Check(reader, "Local").CheckAsync("all-MiniLM-L6-v2-int8", CancellationToken.None);

        Assert.Equal(CosmosCacheContainerState.Forbidden, state);
        var error = Assert.Single(Logged, l => l.Level == LogLevel.Error);
        Assert.Equal(1205, error.Id.Id);
        Assert.Contains("cache-all-minilm-l6-v2", error.Message, StringComparison.Ordinal);
        Assert.Contains("403", error.Message, StringComparison.Ordinal);
        Assert.Contains("Cosmos DB Built-in Data Contributor", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("azd provision with ROUTER_EMBEDDINGS_PROVIDER", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable, "CosmosException 503")]
    [InlineData(HttpStatusCode.Unauthorized, "CosmosException 401")]
    [InlineData(null, nameof(HttpRequestException))]
    public async Task Any_other_failure_is_an_unreachable_account_named_by_the_failure(HttpStatusCode? status, string named)
    {
        var reader = new FakeReader(_ => throw (status is { } s ? new CosmosException("failed", s, 0, "activity", 1) : new HttpRequestException("connection refused")));

        var state = await Check(reader).CheckAsync("none", CancellationToken.None);

        Assert.Equal(CosmosCacheContainerState.Unreachable, state);
        var error = Assert.Single(Logged, l => l.Level == LogLevel.Error);
        Assert.Equal(1205, error.Id.Id);
        Assert.Contains("cache-none", error.Message, StringComparison.Ordinal);
        Assert.Contains("could not be reached (" + named + ")", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("connection refused", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_account_that_does_not_answer_is_reported_unreachable_after_the_timeout()
    {
        var reader = new FakeReader(async ct => await Task.Delay(Timeout.Infinite, ct));

        var check = Check(reader).CheckAsync("none", CancellationToken.None);
        Assert.False(check.IsCompleted);
        _time.Advance(CosmosCacheContainerCheck.Timeout);

        Assert.Equal(CosmosCacheContainerState.Unreachable, await check);
        var error = Assert.Single(Logged, l => l.Level == LogLevel.Error);
        Assert.Contains("could not be reached (no answer within 30 s)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_cannot_be_built_is_reported_by_the_check_not_thrown_at_the_host()
    {
        // The app's reader, over a client factory that fails as the SDK does on a malformed account key.
        var reader = new CosmosCacheContainerReader(() => throw new ArgumentException("The key is not a valid base64 string."));

        var state = await Check(reader).CheckAsync("none", CancellationToken.None);

        Assert.Equal(CosmosCacheContainerState.Unreachable, state);
        var error = Assert.Single(Logged, l => l.Level == LogLevel.Error);
        Assert.Contains("could not be reached (ArgumentException)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_existing_container_is_reported_ready_without_an_error()
    {
        var reader = new FakeReader(_ => Task.CompletedTask);

        var state = await Check(reader).CheckAsync("text-embedding-3-small", CancellationToken.None);

        Assert.Equal(CosmosCacheContainerState.Ready, state);
        Assert.DoesNotContain(Logged, l => l.Level >= LogLevel.Warning);
        Assert.Contains(Logged, l => l.Id.Id == 1206 && l.Message.Contains("cache-text-embedding-3-small", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_container_the_store_may_create_itself_is_no_error()
    {
        var reader = new FakeReader(_ => throw new CosmosException("Resource Not Found", HttpStatusCode.NotFound, 0, "activity", 1));

        var state = await Check(reader, createIfMissing: true).CheckAsync("none", CancellationToken.None);

        Assert.Equal(CosmosCacheContainerState.Missing, state);
        Assert.Empty(Logged);
    }

    [Fact]
    public async Task A_host_stopping_during_the_check_logs_nothing()
    {
        using var stopping = new CancellationTokenSource();
        var reader = new FakeReader(async ct => await Task.Delay(Timeout.Infinite, ct));

        var check = Check(reader).CheckAsync("none", stopping.Token);
        await stopping.CancelAsync();
        await check;

        Assert.Empty(Logged);
    }

    [Fact]
    public async Task Both_hosts_run_the_check_at_start_without_waiting_for_it_on_the_configured_models_container()
    {
        // What the server and the Functions app register (both through AddRouterInfrastructure), with the reader faked.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Router:Cache:Cosmos:Endpoint"] = "https://127.0.0.1:8081/",
            ["Router:Embeddings:Provider"] = "None",
        }).Build();
        var answer = new TaskCompletionSource();
        var reader = new FakeReader(_ => answer.Task);
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging(b => b.AddProvider(_logs))
            .AddSingleton<ICosmosCacheContainerReader>(reader)
            .AddRouterInfrastructure();
        await using var provider = services.BuildServiceProvider();
        var check = RegisteredCheck(services, provider);

        await check.StartAsync(CancellationToken.None);

        // Start-up is over while Cosmos DB has not answered yet.
        Assert.False(check.ExecuteTask!.IsCompleted);
        answer.SetException(new CosmosException("Resource Not Found", HttpStatusCode.NotFound, 0, "activity", 1));
        await check.ExecuteTask;
        Assert.Equal([("router", "cache-none")], reader.Reads);
        var error = Assert.Single(Logged, l => l.Id.Id == 1205);
        Assert.Contains("Router:Embeddings:Provider None", error.Message, StringComparison.Ordinal);
        await check.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Without_a_cosmos_endpoint_nothing_is_checked()
    {
        var reader = new FakeReader(_ => Task.CompletedTask);
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Router:Embeddings:Provider"] = "None" }).Build())
            .AddLogging(b => b.AddProvider(_logs))
            .AddSingleton<ICosmosCacheContainerReader>(reader)
            .AddRouterInfrastructure();
        await using var provider = services.BuildServiceProvider();
        var check = RegisteredCheck(services, provider);

        await check.StartAsync(CancellationToken.None);
        await check.ExecuteTask!;

        Assert.Empty(reader.Reads);
        Assert.DoesNotContain(Logged, l => l.Id.Id is 1205 or 1206);
    }

    // The host's hosted service as registered, built alone: starting every hosted service would build the analyzer too.
    private static CosmosCacheContainerCheck RegisteredCheck(IServiceCollection services, IServiceProvider provider)
    {
        Assert.Single(services, d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(CosmosCacheContainerCheck));
        return ActivatorUtilities.CreateInstance<CosmosCacheContainerCheck>(provider);
    }

    private sealed class FakeReader(Func<CancellationToken, Task> read) : ICosmosCacheContainerReader
    {
        private readonly ConcurrentQueue<(string Database, string Container)> _reads = new();

        public IReadOnlyCollection<(string Database, string Container)> Reads => _reads;

        public Task ReadAsync(string database, string container, CancellationToken cancellationToken)
        {
            _reads.Enqueue((database, container));
            return read(cancellationToken);
        }
    }
}
