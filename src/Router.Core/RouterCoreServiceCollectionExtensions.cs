using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Analysis;
using Microsoft.Extensions.Caching.Memory;
using Router.Core.Audits;
using Router.Core.Caching;
using Router.Core.Catalog;
using Router.Core.Execution;
using Router.Core.Metering;
using Router.Core.Pipeline;
using Router.Core.Routing;
using Router.Core.Telemetry;
using Router.Core.Weights;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the router's pipeline and policies.</summary>
public static class RouterCoreServiceCollectionExtensions
{
    /// <summary>Adds the core pipeline, the catalog and validated options; adapters come from <c>AddRouterInfrastructure</c>.</summary>
    public static IServiceCollection AddRouterCore(this IServiceCollection services)
    {
        services.AddOptions<RouterOptions>().BindConfiguration(RouterOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RouterOptions>, RouterOptionsValidator>());
        services.AddOptions<RoutingOptions>().BindConfiguration(RoutingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RoutingOptions>, RoutingOptionsValidator>());
        services.AddOptions<ExecutionOptions>().BindConfiguration(ExecutionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<TenantsOptions>().BindConfiguration(RouterOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TenantsOptions>, TenantsOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<RouterTelemetry>();
        services.TryAddSingleton<RecentDecisions>();
        services.TryAddSingleton<ModelCatalog>();
        services.TryAddSingleton<ApiKeyAuthenticator>();
        services.TryAddSingleton<ApiKeyIssuer>();
        services.TryAddSingleton<RoutingTable>();
        services.TryAddSingleton<RoutingWeightsHolder>();
        services.TryAddSingleton<IRoutingWeightsSource>(sp => sp.GetRequiredService<RoutingWeightsHolder>());
        services.TryAddSingleton<RequestRouter>();
        services.TryAddSingleton<DeploymentHealthRegistry>();
        services.TryAddSingleton<ChatExecutor>();
        services.AddOptions<LoopGuardOptions>().BindConfiguration(LoopGuardOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RequestAnalyzerOptions>().BindConfiguration(RequestAnalyzerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(_ => TaskModel.LoadEmbedded());
        services.TryAddSingleton(_ => new ComplexityEstimator());
        services.TryAddSingleton<IRequestAnalyzer>(sp =>
        {
            var analyzer = new RequestAnalyzer(
                sp.GetRequiredService<IOptions<RequestAnalyzerOptions>>(),
                sp.GetRequiredService<TaskModel>(),
                sp.GetRequiredService<ComplexityEstimator>(),
                sp.GetService<IEmbeddingGenerator<string, Embedding<float>>>(),
                sp.GetService<ILogger<RequestAnalyzer>>());
            analyzer.WarmUp();
            return analyzer;
        });
        services.TryAddSingleton<TokenCounter>();
        services.TryAddSingleton<RequestLimiter>();
        services.TryAddSingleton<LoopGuard>();
        services.TryAddSingleton<BudgetGuard>();
        services.TryAddSingleton<Admission>();
        services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<WeightsOptions>().BindConfiguration(WeightsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<AuditSampler>();
        services.TryAddSingleton<AuditProcessor>();
        services.TryAddSingleton<WeightsCalculator>();
        services.TryAddSingleton<WeightsRecomputer>();
        services.AddOptions<SemanticCacheOptions>().BindConfiguration(SemanticCacheOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SemanticGuardOptions>().BindConfiguration(SemanticGuardOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<VectorIndexOptions>().BindConfiguration(VectorIndexOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<ISemanticGuard, SemanticGuard>();
        services.TryAddSingleton(typeof(IVectorIndex<>), typeof(VectorIndex<>));
        services.TryAddSingleton<IResponseCacheStore>(sp => new InProcessResponseCacheStore(
            sp.GetRequiredService<IVectorIndex<CachedAnswer>>(),
            new MemoryCache(new MemoryCacheOptions { SizeLimit = sp.GetRequiredService<IOptions<VectorIndexOptions>>().Value.MaxEntries })));
        services.TryAddSingleton<ResponseCacheService>();
        services.TryAddSingleton<AnalysisMemo>();
        services.TryAddSingleton<ChatPipeline>();
        return services;
    }
}
