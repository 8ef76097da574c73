using Microsoft.Extensions.DependencyInjection.Extensions;
using Router.Http;
using Router.Http.Admin;
using Router.Http.Routing;
using Router.Http.Auth;
using Router.Http.Catalog;
using Router.Http.Dashboard;
using Router.Http.Chat;
using Router.Http.Health;
using Router.Http.Metering;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the HTTP surface shared by both hosts.</summary>
public static class RouterHttpServiceCollectionExtensions
{
    /// <summary>Adds the handlers of the OpenAI-compatible endpoints (and, through it, the pipeline and adapters).</summary>
    public static IServiceCollection AddRouterHttp(this IServiceCollection services) => services.AddRouterHttp(_ => { });

    /// <summary>Adds the handlers, the pipeline and adapters; <paramref name="hosting"/> says which background work the host runs.</summary>
    public static IServiceCollection AddRouterHttp(this IServiceCollection services, Action<Router.Infrastructure.RouterHostingOptions> hosting)
    {
        services.AddRouterInfrastructure(hosting);
        services.AddOptions<RouterHttpOptions>();
        services.TryAddSingleton<CallerAuthentication>();
        services.TryAddSingleton<ChatRequestReader>();
        services.TryAddSingleton<ChatCompletionsHandler>();
        services.TryAddSingleton<ModelsHandler>();
        services.TryAddSingleton<HealthHandler>();
        services.TryAddSingleton<RoutePreviewHandler>();
        services.TryAddSingleton<AdminTenantsHandler>();
        services.TryAddSingleton<AdminKeysHandler>();
        services.TryAddSingleton<UsageHandler>();
        services.TryAddSingleton<AdminWeightsHandler>();
        services.TryAddSingleton<AdminAuditsHandler>();
        services.TryAddSingleton<DashboardHandler>();
        return services;
    }
}
