using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Metering;
using Router.Core.Routing;

namespace Router.Infrastructure.Metering;

/// <summary>Tenant policies seeded from configuration (<c>Router:Tenants</c>) and changed through the admin API; kept in memory.</summary>
internal sealed class InMemoryTenantPolicyStore : ITenantPolicyStore
{
    private readonly ConcurrentDictionary<string, TenantPolicy> _policies = new(StringComparer.Ordinal);

    public InMemoryTenantPolicyStore(IOptions<TenantsOptions> tenants, ModelCatalog catalog)
    {
        foreach (var (tenant, settings) in tenants.Value.Tenants)
        {
            // Validated at start, so compiling cannot fail here.
            RuleSetCompiler.TryCompile(settings.Rules, catalog, out var rules, out _);
            _policies[tenant] = new TenantPolicy { TenantId = tenant, Quality = settings.Quality, Rules = rules };
        }
    }

    public ValueTask<TenantPolicy> GetAsync(string tenantId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_policies.GetValueOrDefault(tenantId) ?? TenantPolicy.Default(tenantId));

    public ValueTask SetRulesAsync(string tenantId, IReadOnlyList<TenantRule> rules, CancellationToken cancellationToken)
    {
        _policies.AddOrUpdate(tenantId, t => TenantPolicy.Default(t) with { Rules = rules }, (_, p) => p with { Rules = rules });
        return ValueTask.CompletedTask;
    }

    public ValueTask SetQualityAsync(string tenantId, double? quality, CancellationToken cancellationToken)
    {
        _policies.AddOrUpdate(tenantId, t => TenantPolicy.Default(t) with { Quality = quality }, (_, p) => p with { Quality = quality });
        return ValueTask.CompletedTask;
    }
}
