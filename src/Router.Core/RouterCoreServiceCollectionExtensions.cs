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
        services.AddOptions<RouterOptions>().BindConfigurationStrictly(RouterOptions.Section).ValidateDataAnnotations();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RouterOptions>, RouterOptionsValidator>());
        services.AddOptions<RoutingOptions>().BindConfigurationStrictly(RoutingOptions.Section).ValidateDataAnnotations();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RoutingOptions>, RoutingOptionsValidator>());
        services.AddOptions<ExecutionOptions>().BindConfigurationStrictly(ExecutionOptions.Section).ValidateDataAnnotations();
        services.AddOptions<TenantsOptions>().BindConfigurationStrictly(RouterOptions.Section);
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
        services.AddOptions<LoopGuardOptions>().BindConfigurationStrictly(LoopGuardOptions.Section).ValidateDataAnnotations();
        services.AddOptions<RequestAnalyzerOptions>().BindConfigurationStrictly(RequestAnalyzerOptions.Section).ValidateDataAnnotations();
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
        services.AddOptions<BudgetOptions>().BindConfigurationStrictly(BudgetOptions.Section).ValidateDataAnnotations();
        services.TryAddSingleton<BudgetGuard>();
        services.TryAddSingleton<Admission>();
        services.AddOptions<AuditOptions>().BindConfigurationStrictly(AuditOptions.Section).ValidateDataAnnotations();
        services.AddOptions<WeightsOptions>().BindConfigurationStrictly(WeightsOptions.Section).ValidateDataAnnotations();
        services.TryAddSingleton<AuditSampler>();
        services.TryAddSingleton<AuditProcessor>();
        services.TryAddSingleton<WeightsCalculator>();
        services.TryAddSingleton<WeightsRecomputer>();
        services.AddOptions<SemanticCacheOptions>().BindConfigurationStrictly(SemanticCacheOptions.Section).ValidateDataAnnotations();
        services.AddOptions<SemanticGuardOptions>().BindConfigurationStrictly(SemanticGuardOptions.Section).ValidateDataAnnotations()
            .PostConfigure<IOptions<RequestAnalyzerOptions>>((guards, analysis) =>
                guards.EmbeddedChars = analysis.Value.EmbeddingHeadChars + analysis.Value.EmbeddingTailChars);
        services.AddOptions<VectorIndexOptions>().BindConfigurationStrictly(VectorIndexOptions.Section).ValidateDataAnnotations();
        services.TryAddSingleton<ISemanticGuard, SemanticGuard>();
        services.TryAddSingleton(typeof(IVectorIndex<>), typeof(VectorIndex<>));
        services.TryAddSingleton<IResponseCacheStore>(sp =>
        {
            var settings = sp.GetRequiredService<IOptions<VectorIndexOptions>>().Value;
            var budget = settings.MaxAnswerBytes;
            var time = sp.GetRequiredService<TimeProvider>();
            return new InProcessResponseCacheStore(
                sp.GetRequiredService<IVectorIndex<CachedAnswer>>(),
                new MemoryCache(new MemoryCacheOptions { SizeLimit = budget, Clock = new TimeProviderClock(time) }),
                budget,
                time,
                settings.MaxTenantShare);
        });
        services.TryAddSingleton<ResponseCacheService>();
        services.TryAddSingleton<AnalysisMemo>();
        services.TryAddSingleton<ChatPipeline>();
        return services;
    }
}
