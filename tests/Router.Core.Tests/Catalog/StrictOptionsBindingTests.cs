using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Metering;
using Router.Core.Routing;

namespace Router.Core.Tests.Catalog;

public sealed class StrictOptionsBindingTests
{
    private static ServiceProvider Services(Dictionary<string, string?> settings) => new ServiceCollection()
        .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
        .AddLogging().AddRouterCore()
        .BuildServiceProvider();

    private static readonly Dictionary<string, string?> Catalog = new()
    {
        ["Router:Providers:p:Endpoint"] = "http://127.0.0.1:9/v1",
        ["Router:Models:good:Provider"] = "p",
        ["Router:Models:good:Tier"] = "Economy",
    };

    [Theory]
    [InlineData("Router:Models:x:Tier", "Ultra")]
    [InlineData("Router:Models:x:InputCostPerMillion", "abc")]
    [InlineData("Router:Providers:q:Type", "Anthropic")]
    [InlineData("Router:Providers:p:Enabled", "perhaps")]
    public void A_catalog_entry_with_a_value_the_binder_cannot_convert_fails_naming_the_setting_instead_of_vanishing(string key, string value)
    {
        var settings = new Dictionary<string, string?>(Catalog) { [key] = value };
        if (key.StartsWith("Router:Models:x", StringComparison.Ordinal))
        {
            settings["Router:Models:x:Provider"] = "p";
        }

        using var services = Services(settings);

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<RouterOptions>>().Value);
        Assert.Contains(failure.Failures, f => f.Contains($"'{key}'", StringComparison.Ordinal) && f.Contains($"'{value}'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("5")]
    [InlineData("-0.1")]
    public void A_configured_tenants_audit_sample_rate_outside_0_to_1_fails_at_start(string rate)
    {
        // The admin API refuses these; from configuration "5" (meant as 5%) audited every answer, each buying a premium
        // reference and two judge calls.
        var settings = new Dictionary<string, string?>(Catalog) { ["Router:Tenants:acme:AuditSampleRate"] = rate };
        using var services = Services(settings);

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<TenantsOptions>>().Value);
        Assert.Contains(failure.Failures, f => f.Contains("Router:Tenants:acme:AuditSampleRate", StringComparison.Ordinal));
    }

    [Fact]
    public void A_bad_value_inside_a_list_inside_a_dictionary_is_reported_too()
    {
        // Tenants (a dictionary) → Rules (a list) → When → Complexity: two collections the binder would each skip silently.
        var settings = new Dictionary<string, string?>(Catalog)
        {
            ["Router:Tenants:acme:Quality"] = "0.5",
            ["Router:Tenants:acme:Rules:0:When:Complexity:Min"] = "high",
        };
        using var services = Services(settings);

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<TenantsOptions>>().Value);
        Assert.Contains(failure.Failures, f => f.Contains("'Router:Tenants:acme:Rules:0:When:Complexity:Min'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Router:Tenants:acme:Qualty", "0.9", "Router:Tenants:acme")]
    [InlineData("Router:Tenants:acme:Rules:0:When:risk_categorie:0", "self_harm", "Router:Tenants:acme:Rules:0:When")]
    [InlineData("Router:Models:good:Teir", "Premium", "Router:Models:good")]
    public void A_misspelt_setting_inside_an_entry_fails_instead_of_vanishing(string key, string value, string owner)
    {
        var settings = new Dictionary<string, string?>(Catalog)
        {
            ["Router:Tenants:acme:Rules:0:Then:deny"] = "Not here.",
            [key] = value,
        };
        using var services = Services(settings);

        var failure = Assert.Throws<OptionsValidationException>(() =>
        {
            _ = services.GetRequiredService<IOptions<RouterOptions>>().Value;
            _ = services.GetRequiredService<IOptions<TenantsOptions>>().Value;
        });
        Assert.Contains(failure.Failures, f => f.Contains($"'{TrimIndex(key)}' is not a setting; {owner} takes", StringComparison.Ordinal));

        static string TrimIndex(string k) => k.EndsWith(":0", StringComparison.Ordinal) ? k[..^2] : k;
    }

    [Fact]
    public void Valid_collections_bind_as_before()
    {
        var settings = new Dictionary<string, string?>(Catalog)
        {
            ["Router:Models:other:Provider"] = "p",
            ["Router:Models:other:Tier"] = "Premium",
            ["Router:Models:other:InputCostPerMillion"] = "2.5",
            ["Router:Tenants:acme:Quality"] = "0.3",
            ["Router:Tenants:acme:Rules:0:When:risk_categories:0"] = "medical",
            ["Router:Tenants:acme:Rules:0:When:metadata:any-key"] = "any value",
            ["Router:Tenants:acme:Rules:0:Then:min_tier"] = "premium",
        };
        using var services = Services(settings);

        var router = services.GetRequiredService<IOptions<RouterOptions>>().Value;
        Assert.Equal(["good", "other"], router.Models.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2.5m, router.Models["other"].InputCostPerMillion);
        Assert.Equal(0.3, services.GetRequiredService<IOptions<TenantsOptions>>().Value.Tenants["acme"].Quality);
        Assert.NotNull(services.GetRequiredService<IOptions<RoutingOptions>>().Value);
    }
}
