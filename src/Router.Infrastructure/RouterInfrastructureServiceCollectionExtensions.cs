using System.Net;
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
        services.AddOptions<ProviderClientOptions>()
            .BindConfiguration(ProviderClientOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<ConfiguredApiKeysOptions>().BindConfiguration(RouterOptions.Section);

        services.AddHttpClient(OpenAICompatibleModelClient.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<ProviderClientOptions>>().Value.ConnectTimeout,
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
                MaxConnectionsPerServer = int.MaxValue,
            })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        services.TryAddSingleton<IProviderCredentials, ApiKeyProviderCredentials>();
        services.TryAddSingleton<IModelClient, OpenAICompatibleModelClient>();
        services.TryAddSingleton<IApiKeyStore, InMemoryApiKeyStore>();
        return services;
    }
}
