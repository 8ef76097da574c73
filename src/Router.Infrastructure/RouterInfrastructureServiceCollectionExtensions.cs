using System.Net;
using Azure.Core;
using Azure.Data.Tables;
using Microsoft.Extensions.AI;
using OpenAI;
using Microsoft.Azure.Cosmos;
using Router.Core.Caching;
using Router.Infrastructure.Caching;
using Router.Infrastructure.Embeddings;
using Router.Infrastructure.Hosting;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Router.Core.Audits;
using Router.Core.Weights;
using Router.Infrastructure.Audits;
using Router.Infrastructure.Weights;
using Azure.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Execution;
using Router.Core.Metering;
using Router.Infrastructure;
using Router.Infrastructure.Metering;
using Router.Infrastructure.Providers;
using Router.Infrastructure.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the adapters: provider clients and the stores (in memory unless storage is configured).</summary>
public static class RouterInfrastructureServiceCollectionExtensions
{
    /// <summary>Adds the core pipeline and every adapter it needs.</summary>
    public static IServiceCollection AddRouterInfrastructure(this IServiceCollection services) => services.AddRouterInfrastructure(_ => { });

    /// <summary>Adds the core pipeline and every adapter it needs; <paramref name="configure"/> says which background
    /// work this host runs itself (the Functions app has triggers for it instead).</summary>
    public static IServiceCollection AddRouterInfrastructure(this IServiceCollection services, Action<RouterHostingOptions> configure)
    {
        var hosting = new RouterHostingOptions();
        configure(hosting);
        services.AddRouterCore();
        services.AddOptions<ConfiguredApiKeysOptions>().BindConfigurationStrictly(RouterOptions.Section);
        services.AddOptions<StorageOptions>().BindConfigurationStrictly(StorageOptions.Section);

        services.AddHttpClient(OpenAICompatibleModelClient.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = sp.GetRequiredService<IOptions<ExecutionOptions>>().Value.ConnectTimeout,
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
                MaxConnectionsPerServer = int.MaxValue,

                // A redirect would carry the provider's key (Azure's api-key header survives one, unlike Authorization)
                // and the prompt to wherever it points; a provider endpoint that redirects is a misconfiguration.
                AllowAutoRedirect = false,
            })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            // Every call is already timed, traced and metered by the router; the factory's per-request log scopes are
            // pure overhead on the hot path.
            .RemoveAllLoggers();
        services.TryAddSingleton<TokenCredential>(_ => new DefaultAzureCredential());
        services.TryAddSingleton<IProviderCredentials, ProviderCredentials>();
        services.TryAddSingleton<IModelClient, OpenAICompatibleModelClient>();

        // Azure clients are created once and shared.
        services.TryAddSingleton(sp =>
        {
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            var options = new TableClientOptions();
            options.Retry.NetworkTimeout = storage.NetworkTimeout;
            options.Retry.MaxRetries = storage.MaxRetries;
            options.Retry.Delay = TimeSpan.FromMilliseconds(100);
            options.Retry.Mode = RetryMode.Exponential;
            return storage.TableServiceUri is { } uri
                ? new TableServiceClient(uri, sp.GetRequiredService<TokenCredential>(), options)
                : new TableServiceClient(storage.ConnectionString, options);
        });
        services.TryAddSingleton<RouterTables>();

        services.TryAddSingleton<IApiKeyStore>(sp => new ConfiguredApiKeyStore(
            UsesTables(sp) ? ActivatorUtilities.CreateInstance<TableApiKeyStore>(sp) : new InMemoryApiKeyStore(),
            sp.GetRequiredService<IOptions<ConfiguredApiKeysOptions>>()));
        services.TryAddSingleton<ITenantPolicyStore>(sp => UsesTables(sp)
            ? ActivatorUtilities.CreateInstance<TableTenantPolicyStore>(sp)
            : ActivatorUtilities.CreateInstance<InMemoryTenantPolicyStore>(sp));
        services.TryAddSingleton<IUsageLedger>(sp => UsesTables(sp)
            ? ActivatorUtilities.CreateInstance<TableUsageLedger>(sp)
            : new InMemoryUsageLedger());
        services.TryAddSingleton<ISpendStore>(sp => UsesTables(sp)
            ? ActivatorUtilities.CreateInstance<TableSpendStore>(sp)
            : new InMemorySpendStore());
        services.TryAddSingleton(sp =>
        {
            var options = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
            QueueServiceClient? client = null;
            options.MessageDecodingFailed += args => AuditQueueWorker.MoveUndecodableAsync(client!, args, sp.GetRequiredService<ILogger<AuditQueueWorker>>());
            client = CreateQueueServiceClient(sp, options);
            return client;
        });
        services.TryAddSingleton(sp =>
        {
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return storage.BlobServiceUri is { } uri
                ? new BlobServiceClient(uri, sp.GetRequiredService<TokenCredential>())
                : new BlobServiceClient(storage.ConnectionString);
        });
        services.TryAddSingleton(sp => UsesQueues(sp)
            ? new AuditJobCodec(sp.GetRequiredService<IOptions<AuditOptions>>(), sp.GetRequiredService<BlobServiceClient>())
            : new AuditJobCodec(sp.GetRequiredService<IOptions<AuditOptions>>()));
        services.TryAddSingleton(sp => new AuditJobDecoder(sp.GetRequiredService<AuditJobCodec>()));
        services.TryAddSingleton<IAuditQueue>(sp => UsesQueues(sp)
            ? ActivatorUtilities.CreateInstance<StorageAuditQueue>(sp)
            : new ChannelAuditQueue());

        // The poison queue is read and written with a client that leaves message text as stored, so a redrive copies it
        // exactly; the embedded channel keeps its own poison list (an audit queue swapped for another has none).
        services.TryAddSingleton<IAuditPoisonQueue>(sp => UsesQueues(sp)
            ? ActivatorUtilities.CreateInstance<StorageAuditPoisonQueue>(sp, CreateQueueServiceClient(sp, new QueueClientOptions()))
            : sp.GetRequiredService<IAuditQueue>() as IAuditPoisonQueue ?? new ChannelAuditQueue());
        services.TryAddSingleton<IAuditStore>(sp => UsesTables(sp)
            ? ActivatorUtilities.CreateInstance<TableAuditStore>(sp)
            : new InMemoryAuditStore());
        // With Table Storage the instances share each minute's audits; embedded, the instance's own allowance is the bound.
        services.Replace(ServiceDescriptor.Singleton(sp => UsesTables(sp)
            ? ActivatorUtilities.CreateInstance<AuditSampler>(sp, ActivatorUtilities.CreateInstance<TableAuditAllowanceStore>(sp))
            : ActivatorUtilities.CreateInstance<AuditSampler>(sp)));
        services.TryAddSingleton<IWeightsStore>(sp => UsesTables(sp)
            ? ActivatorUtilities.CreateInstance<TableWeightsStore>(sp)
            : new InMemoryWeightsStore());
        services.TryAddSingleton<IChatClientProvider, SdkChatClientProvider>();
        services.AddOptions<EmbeddingOptions>().BindConfigurationStrictly(EmbeddingOptions.Section);
        services.AddOptions<MiniLmEmbeddingOptions>().BindConfigurationStrictly(MiniLmEmbeddingOptions.Section).ValidateDataAnnotations();
        services.TryAddSingleton(sp => CreateEmbeddings(sp)!);
        services.AddOptions<CosmosCacheOptions>().BindConfigurationStrictly(CosmosCacheOptions.Section);
        services.TryAddSingleton(sp =>
            CosmosCacheClient.Create(sp.GetRequiredService<IOptions<CosmosCacheOptions>>().Value, sp.GetRequiredService<TokenCredential>));

        // The Cosmos DB cache replaces the in-process one when an endpoint is configured.
        var inProcess = services.LastOrDefault(d => d.ServiceType == typeof(IResponseCacheStore));
        services.Replace(ServiceDescriptor.Singleton<IResponseCacheStore>(sp =>
            sp.GetRequiredService<IOptions<CosmosCacheOptions>>().Value.Endpoint is not null
                ? ActivatorUtilities.CreateInstance<CosmosResponseCacheStore>(sp)
                : (IResponseCacheStore)inProcess!.ImplementationFactory!(sp)));
        services.TryAddSingleton<ICosmosCacheContainerReader>(sp => new CosmosCacheContainerReader(sp.GetRequiredService<CosmosClient>));
        services.TryAddSingleton<StoreInventory>();

        services.AddHostedService<StartupWarmUp>();
        services.AddHostedService<CosmosCacheContainerCheck>();
        services.AddHostedService<WeightsRefreshService>();
        if (hosting.RunBackgroundWork)
        {
            services.AddHostedService<AuditQueueWorker>();
            services.AddHostedService<WeightsRecomputeService>();
        }

        return services;
    }

    // Local MiniLM by default; Azure OpenAI text-embedding-3-small through the OpenAI SDK; or none at all.
    private static IEmbeddingGenerator<string, Embedding<float>>? CreateEmbeddings(IServiceProvider services)
    {
        var settings = services.GetRequiredService<IOptions<EmbeddingOptions>>().Value;
        switch (settings.Provider.ToUpperInvariant())
        {
            case "NONE":
                return null;
            case "AZUREOPENAI":
                var router = services.GetRequiredService<IOptions<RouterOptions>>().Value;
                var endpoint = settings.Endpoint
                    ?? (router.Providers.TryGetValue("azure", out var azure) && Uri.TryCreate(azure.Endpoint, UriKind.Absolute, out var uri) ? uri : null)
                    ?? throw new InvalidOperationException("Router:Embeddings:Endpoint (or Router:Providers:azure:Endpoint) is required for Azure OpenAI embeddings.");
                var options = new OpenAIClientOptions { Endpoint = new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/openai/v1/"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(2) };
                var key = settings.ApiKey ?? (router.Providers.TryGetValue("azure", out var p) ? p.ApiKey : null);
                options.AddPolicy(
                    new AzureAuthenticationPolicy(key, services.GetRequiredService<TokenCredential>(), services.GetRequiredService<TimeProvider>()),
                    System.ClientModel.Primitives.PipelinePosition.PerCall);
                return new OpenAI.Embeddings.EmbeddingClient(settings.Deployment, new System.ClientModel.ApiKeyCredential("replaced-by-policy"), options).AsIEmbeddingGenerator();
            default:
                return new SharedMiniLm(services.GetRequiredService<IOptions<MiniLmEmbeddingOptions>>().Value);
        }
    }

    private static QueueServiceClient CreateQueueServiceClient(IServiceProvider services, QueueClientOptions options)
    {
        var storage = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        return storage.QueueServiceUri is { } uri
            ? new QueueServiceClient(uri, services.GetRequiredService<TokenCredential>(), options)
            : new QueueServiceClient(storage.ConnectionString, options);
    }

    private static bool UsesQueues(IServiceProvider services) =>
        services.GetRequiredService<IOptions<StorageOptions>>().Value.UsesQueues;

    private static bool UsesTables(IServiceProvider services) =>
        services.GetRequiredService<IOptions<StorageOptions>>().Value.UsesTables;
}
