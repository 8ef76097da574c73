using System.Net;
using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Router.Core.Catalog;
using Router.Core.Execution;
using Router.Core.Metering;
using Router.Infrastructure.Metering;
using Router.Infrastructure.Providers;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the adapters: provider clients and the stores (in memory unless a connection is configured).</summary>
public static class RouterInfrastructureServiceCollectionExtensions
{
    /// <summary>Adds the core pipeline and every adapter it needs.</summary>
    public static IServiceCollection AddRouterInfrastructure(this IServiceCollection services)
    {
        services.AddRouterCore();
        services.AddOptions<ConfiguredApiKeysOptions>().BindConfiguration(RouterOptions.Section);

        services.AddHttpClient(OpenAICompatibleModelClient.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<ExecutionOptions>>().Value.ConnectTimeout,
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
                MaxConnectionsPerServer = int.MaxValue,
            })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        services.TryAddSingleton<TokenCredential>(_ => new DefaultAzureCredential());
        services.TryAddSingleton<IProviderCredentials, ProviderCredentials>();
        services.TryAddSingleton<IModelClient, OpenAICompatibleModelClient>();
        services.TryAddSingleton<IApiKeyStore, InMemoryApiKeyStore>();
        services.TryAddSingleton<ITenantPolicyStore, InMemoryTenantPolicyStore>();
        return services;
    }
}
