using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Routing;

namespace Router.Core.Metering;

/// <summary>Tenant settings given in configuration (section <c>Router</c>, property <c>Tenants</c>); the admin API
/// changes them at run time.</summary>
public sealed class TenantsOptions
{
    /// <summary>Settings by tenant id.</summary>
    public Dictionary<string, TenantOptions> Tenants { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One tenant's settings.</summary>
public sealed class TenantOptions
{
    /// <summary>Cost/quality knob (0 cheapest … 1 best); unset uses <c>Router:Routing:DefaultQuality</c>.</summary>
    public double? Quality { get; set; }

    /// <summary>Rules evaluated in order (see README "Tenant rules").</summary>
    public List<RuleDefinition> Rules { get; set; } = [];
}

/// <summary>Validates configured tenants at start, naming every bad setting.</summary>
internal sealed class TenantsOptionsValidator(IOptions<RouterOptions> router) : IValidateOptions<TenantsOptions>
{
    public ValidateOptionsResult Validate(string? name, TenantsOptions options)
    {
        var errors = new List<string>();
        var catalog = new ModelCatalog(router.Value);
        foreach (var (tenant, settings) in options.Tenants)
        {
            var prefix = $"{RouterOptions.Section}:Tenants:{tenant}";
            if (settings.Quality is < 0 or > 1)
            {
                errors.Add($"{prefix}:Quality: must be between 0 and 1.");
            }

            if (!RuleSetCompiler.TryCompile(settings.Rules, catalog, out _, out var ruleErrors))
            {
                errors.AddRange(ruleErrors.Select(e => $"{prefix}:{e}"));
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
