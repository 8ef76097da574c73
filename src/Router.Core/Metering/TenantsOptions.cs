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

/// <summary>One tenant's settings; see <see cref="TenantPolicy"/> for what each means.</summary>
public sealed class TenantOptions
{
    /// <summary>Cost/quality knob (0 cheapest … 1 best); unset uses <c>Router:Routing:DefaultQuality</c>.</summary>
    public double? Quality { get; set; }

    /// <summary>Rules evaluated in order (see README "Tenant rules").</summary>
    public List<RuleDefinition> Rules { get; set; } = [];

    /// <summary>Fee per call in USD (default 0).</summary>
    public decimal PerCallFeeUsd { get; set; }

    /// <summary>Markup on provider cost in percent (default 0).</summary>
    public decimal MarkupPercent { get; set; }

    /// <summary>Daily spend cap in USD (default none).</summary>
    public decimal? DailyBudgetUsd { get; set; }

    /// <summary>Monthly spend cap in USD (default none).</summary>
    public decimal? MonthlyBudgetUsd { get; set; }

    /// <summary>Requests per minute per key (default none).</summary>
    public int? RequestsPerMinute { get; set; }

    /// <summary>Tokens per minute per key (default none).</summary>
    public int? TokensPerMinute { get; set; }

    /// <summary>Spend cap per agent session in USD (default none).</summary>
    public decimal? SessionSpendCapUsd { get; set; }

    /// <summary>Keep this tenant's traffic out of quality audits (default false).</summary>
    public bool AuditOptOut { get; set; }

    /// <summary>Share of economy/standard answers audited (default: the router's).</summary>
    public double? AuditSampleRate { get; set; }

    /// <summary>Semantic-cache threshold for this tenant (default: the router's; it can only be stricter).</summary>
    public float? CacheSimilarityThreshold { get; set; }

    /// <summary>How long this tenant's answers stay cached (default: <c>Router:Cache:TimeToLive</c>).</summary>
    public TimeSpan? CacheTimeToLive { get; set; }

    /// <summary>The policy these settings describe, with rules compiled against <paramref name="catalog"/>.</summary>
    public TenantPolicy ToPolicy(string tenantId, ModelCatalog catalog)
    {
        RuleSetCompiler.TryCompile(Rules, catalog, out var rules, out _);
        return new TenantPolicy
        {
            TenantId = tenantId,
            Registered = true,
            Quality = Quality,
            Rules = rules,
            PerCallFeeUsd = PerCallFeeUsd,
            MarkupPercent = MarkupPercent,
            DailyBudgetUsd = DailyBudgetUsd,
            MonthlyBudgetUsd = MonthlyBudgetUsd,
            RequestsPerMinute = RequestsPerMinute,
            TokensPerMinute = TokensPerMinute,
            SessionSpendCapUsd = SessionSpendCapUsd,
            AuditOptOut = AuditOptOut,
            AuditSampleRate = AuditSampleRate,
            CacheSimilarityThreshold = CacheSimilarityThreshold,
            CacheTimeToLive = CacheTimeToLive,
        };
    }
}

/// <summary>Validates configured tenants at start, naming every bad setting.</summary>
internal sealed class TenantsOptionsValidator(IOptions<RouterOptions> router) : IValidateOptions<TenantsOptions>
{
    public ValidateOptionsResult Validate(string? name, TenantsOptions options)
    {
        var errors = new List<string>();
        ModelCatalog catalog;
        try
        {
            catalog = new ModelCatalog(router.Value);
        }
        catch (OptionsValidationException)
        {
            // The catalog's own validation reports that problem; rules cannot be checked against a broken catalog.
            return ValidateOptionsResult.Skip;
        }

        foreach (var (tenant, settings) in options.Tenants)
        {
            var prefix = $"{RouterOptions.Section}:Tenants:{tenant}";
            errors.AddRange(TenantSettingsRules.Check(settings.Quality, settings.PerCallFeeUsd, settings.MarkupPercent, settings.DailyBudgetUsd,
                settings.MonthlyBudgetUsd, settings.RequestsPerMinute, settings.TokensPerMinute, settings.SessionSpendCapUsd).Select(e => $"{prefix}:{e}"));
            if (settings.AuditSampleRate is not (null or (>= 0 and <= 1)))
            {
                // As the admin API: a rate of 5 meant as 5% would audit every answer, each at a premium reference and two judge calls.
                errors.Add($"{prefix}:AuditSampleRate: must be between 0 and 1.");
            }

            if (!RuleSetCompiler.TryCompile(settings.Rules, catalog, out _, out var ruleErrors))
            {
                errors.AddRange(ruleErrors.Select(e => $"{prefix}:{e}"));
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Range checks shared by configuration and the admin API.</summary>
public static class TenantSettingsRules
{
    /// <summary>Every problem with a set of tenant settings, each starting with the setting's name.</summary>
    public static IEnumerable<string> Check(
        double? quality, decimal? perCallFee, decimal? markup, decimal? daily, decimal? monthly, int? rpm, int? tpm, decimal? sessionCap)
    {
        if (quality is < 0 or > 1)
        {
            yield return "Quality: must be between 0 and 1.";
        }

        if (perCallFee < 0)
        {
            yield return "PerCallFeeUsd: cannot be negative.";
        }

        if (markup < 0)
        {
            yield return "MarkupPercent: cannot be negative.";
        }

        if (daily <= 0)
        {
            yield return "DailyBudgetUsd: must be positive.";
        }

        if (monthly <= 0)
        {
            yield return "MonthlyBudgetUsd: must be positive.";
        }

        if (rpm <= 0)
        {
            yield return "RequestsPerMinute: must be positive.";
        }

        if (tpm <= 0)
        {
            yield return "TokensPerMinute: must be positive.";
        }

        if (sessionCap <= 0)
        {
            yield return "SessionSpendCapUsd: must be positive.";
        }
    }
}
