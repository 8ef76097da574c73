using System.Net;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Router.Core.Audits;
using Router.Core.Weights;
using Router.Infrastructure.Audits;
using Router.Infrastructure.Weights;
using Azure.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
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
        services.AddOptions<ConfiguredApiKeysOptions>().BindConfiguration(RouterOptions.Section);
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section);

        services.AddHttpClient(OpenAICompatibleModelClient.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = sp.GetRequiredService<IOptions<ExecutionOptions>>().Value.ConnectTimeout,
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
                MaxConnectionsPerServer = int.MaxValue,
            })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
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
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            var options = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
            return storage.QueueServiceUri is { } uri
                ? new QueueServiceClient(uri, sp.GetRequiredService<TokenCredential>(), options)
                : new QueueServiceClient(storage.ConnectionString, options);
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
        services.TryAddSingleton<IAuditStore>(sp => UsesTables(sp)
            ? ActivatorUtilities.CreateInstance<TableAuditStore>(sp)
            : new InMemoryAuditStore());
        services.TryAddSingleton<IWeightsStore>(sp => UsesTables(sp)
            ? ActivatorUtilities.CreateInstance<TableWeightsStore>(sp)
            : new InMemoryWeightsStore());
        services.TryAddSingleton<IChatClientProvider, SdkChatClientProvider>();
        services.TryAddSingleton<StoreInventory>();

        services.AddHostedService<WeightsRefreshService>();
        if (hosting.RunBackgroundWork)
        {
            services.AddHostedService<AuditQueueWorker>();
            services.AddHostedService<WeightsRecomputeService>();
        }

        return services;
    }

    private static bool UsesQueues(IServiceProvider services) =>
        services.GetRequiredService<IOptions<StorageOptions>>().Value.UsesQueues;

    private static bool UsesTables(IServiceProvider services) =>
        services.GetRequiredService<IOptions<StorageOptions>>().Value.UsesTables;
}
