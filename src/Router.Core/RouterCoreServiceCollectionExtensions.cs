using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Metering;
using Router.Core.Pipeline;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the router's pipeline and policies.</summary>
public static class RouterCoreServiceCollectionExtensions
{
    /// <summary>Adds the core pipeline, the catalog and validated <see cref="RouterOptions"/>; adapters come from <c>AddRouterInfrastructure</c>.</summary>
    public static IServiceCollection AddRouterCore(this IServiceCollection services)
    {
        services.AddOptions<RouterOptions>()
            .BindConfiguration(RouterOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RouterOptions>, RouterOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ModelCatalog>();
        services.TryAddSingleton<ApiKeyAuthenticator>();
        services.TryAddSingleton<ChatPipeline>();
        return services;
    }
}
