using System.Globalization;
using System.Net;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Pipeline;
using Router.Infrastructure.Embeddings;

namespace Router.Infrastructure.Caching;

/// <summary>What the start-up check found of the cache container.</summary>
internal enum CosmosCacheContainerState
{
    /// <summary>The container exists and the app's identity may read it.</summary>
    Ready,

    /// <summary>The database or the container does not exist (404).</summary>
    Missing,

    /// <summary>The service refused the app's identity (403).</summary>
    Forbidden,

    /// <summary>Any other failure, or no answer within <see cref="CosmosCacheContainerCheck.Timeout"/>.</summary>
    Unreachable,
}

/// <summary>Reads a cache container's properties: the one Cosmos DB call the start-up check makes, kept apart so a test
/// can answer it without an account.</summary>
internal interface ICosmosCacheContainerReader
{
    /// <summary>Completes when the container exists and may be read; otherwise throws what the SDK throws.</summary>
    Task ReadAsync(string database, string container, CancellationToken cancellationToken);
}

/// <summary>Reads the container with the app's Cosmos DB client (its credential, endpoint and retry options). The client
/// is asked for at the read, not before: without an endpoint there is none to build, and a client that cannot be built
/// is then a failure the check reports rather than one that stops the host.</summary>
internal sealed class CosmosCacheContainerReader(Func<CosmosClient> client) : ICosmosCacheContainerReader
{
    public Task ReadAsync(string database, string container, CancellationToken cancellationToken) =>
        client().GetContainer(database, container).ReadContainerAsync(cancellationToken: cancellationToken);
}

/// <summary>
/// Checks once, while the host starts, that the Cosmos DB cache's database and the container of the configured
/// embedding model exist, and logs one error naming them and the fix when they do not (event 1205). The app's data-plane
/// role cannot create containers and the Bicep creates only the container of its <c>embeddingProvider</c>, so an
/// embedding provider changed on the app alone points the cache at a container that is not there: every lookup is then
/// a miss with a warning, and without this check nothing says why. The host does not wait for the check, and requests
/// go on as cache misses whatever it finds.
/// </summary>
internal sealed partial class CosmosCacheContainerCheck(
    IOptions<CosmosCacheOptions> cosmos,
    IOptions<EmbeddingOptions> embeddings,
    ICosmosCacheContainerReader reader,
    TimeProvider time,
    ILogger<CosmosCacheContainerCheck> logger,
    IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator = null) : BackgroundService
{
    /// <summary>How long the check waits for Cosmos DB before it reports the account unreachable.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (cosmos.Value.Endpoint is null)
        {
            return;
        }

        // The model is named by the generator the pipeline embeds with, so the check reads the container lookups read.
        await CheckAsync(ChatPipeline.EmbeddingModelOf(embeddingGenerator), stoppingToken);
    }

    /// <summary>Reads the container of <paramref name="embeddingModel"/> once and logs what was found.</summary>
    internal async Task<CosmosCacheContainerState> CheckAsync(string embeddingModel, CancellationToken cancellationToken)
    {
        var settings = cosmos.Value;
        var container = CosmosCacheContainer.NameFor(embeddingModel);
        using var timeout = new CancellationTokenSource(Timeout, time);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        Exception failure;
        try
        {
            await reader.ReadAsync(settings.Database, container, bounded.Token);
            Log.Ready(logger, container, settings.Database, embeddingModel);
            return CosmosCacheContainerState.Ready;
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        // A host stopping while the check runs has nothing to report.
        if (cancellationToken.IsCancellationRequested)
        {
            return CosmosCacheContainerState.Unreachable;
        }

        var state = timeout.IsCancellationRequested ? CosmosCacheContainerState.Unreachable : StateOf(failure);

        // The store creates a missing container on first use when it is allowed to.
        if (state == CosmosCacheContainerState.Missing && settings.CreateIfMissing)
        {
            return state;
        }

        var (problem, fix) = state switch
        {
            CosmosCacheContainerState.Missing => (
                "does not exist (404: the database or the container is missing)",
                "it exists: the app's role cannot create containers and the Bicep creates only the one of its embeddingProvider "
                + "parameter, so run azd provision with ROUTER_EMBEDDINGS_PROVIDER (embeddingProvider) set to this provider, "
                + "or set Router:Cache:Cosmos:CreateIfMissing where the identity may create containers"),
            CosmosCacheContainerState.Forbidden => (
                "could not be read: the service refused the app's identity (403)",
                "the identity has the Cosmos DB Built-in Data Contributor role on the account (azd provision assigns it) "
                + "and the account's network rules admit this host"),
            _ => (
                "could not be reached (" + (timeout.IsCancellationRequested ? "no answer within " + Timeout.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s" : Describe(failure)) + ")",
                "the account at Router:Cache:Cosmos:Endpoint answers"),
        };
        Log.Unusable(logger, container, settings.Database, embeddingModel, embeddings.Value.Provider, problem, fix);
        return state;
    }

    /// <summary>404 is a missing database or container, 403 an identity without rights, anything else an account that
    /// could not be reached.</summary>
    internal static CosmosCacheContainerState StateOf(Exception exception) => exception switch
    {
        CosmosException { StatusCode: HttpStatusCode.NotFound } => CosmosCacheContainerState.Missing,
        CosmosException { StatusCode: HttpStatusCode.Forbidden } => CosmosCacheContainerState.Forbidden,
        _ => CosmosCacheContainerState.Unreachable,
    };

    // The exception's type and status, never its message: the SDK's messages carry request diagnostics, not a reason.
    private static string Describe(Exception exception) => exception is CosmosException failed
        ? nameof(CosmosException) + " " + ((int)failed.StatusCode).ToString(CultureInfo.InvariantCulture)
        : exception.GetType().Name;

    private static partial class Log
    {
        [LoggerMessage(EventId = 1205, Level = LogLevel.Error, Message = "The Cosmos DB cache container {Container} in database {Database} (embedding model {EmbeddingModel}, Router:Embeddings:Provider {EmbeddingProvider}) {Problem}; every cache lookup is a miss until {Fix}")]
        public static partial void Unusable(ILogger logger, string container, string database, string embeddingModel, string embeddingProvider, string problem, string fix);

        [LoggerMessage(EventId = 1206, Level = LogLevel.Information, Message = "The Cosmos DB cache container {Container} in database {Database} (embedding model {EmbeddingModel}) is ready")]
        public static partial void Ready(ILogger logger, string container, string database, string embeddingModel);
    }
}
