using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Routing;

namespace Router.Core.Tests.Catalog;

public sealed class ModelCatalogTests
{
    internal static RouterOptions Options() => new()
    {
        Providers = { ["sim"] = new ProviderOptions { Endpoint = "http://127.0.0.1:9/v1" }, ["off"] = new ProviderOptions() },
        Models =
        {
            ["small"] = new ModelOptions { Provider = "sim", Tier = ModelTier.Economy, InputCostPerMillion = 0.15m, OutputCostPerMillion = 0.6m },
            ["mid"] = new ModelOptions { Provider = "sim", Tier = ModelTier.Standard, InputCostPerMillion = 1m, OutputCostPerMillion = 4m },
            ["big"] = new ModelOptions { Provider = "sim", Tier = ModelTier.Premium, InputCostPerMillion = 2.5m, OutputCostPerMillion = 10m, UpstreamModel = "gpt-4o" },
            ["orphan"] = new ModelOptions { Provider = "off", Tier = ModelTier.Economy },
        },
    };

    [Fact]
    public void Leaves_out_models_whose_provider_has_no_endpoint_and_picks_the_premium_baseline()
    {
        var catalog = new ModelCatalog(Options());

        Assert.Equal(["small", "mid", "big"], catalog.Models.Select(m => m.Id));
        Assert.Equal("big", catalog.Baseline!.Id);
        Assert.True(catalog.TryGet("BIG", out var big));
        Assert.Equal("gpt-4o", big.UpstreamModel);
    }

    [Fact]
    public void Prices_include_cached_input()
    {
        var model = new ModelCatalog(Options()).Models[0] with { CachedInputCostPerMillion = 0.075m };

        Assert.Equal((1_000_000m * 0.15m + 1_000_000m * 0.6m) / 1_000_000m, model.Cost(1_000_000, 1_000_000));
        Assert.Equal(0.075m + 0.15m, model.Cost(2_000_000, 0, cachedPromptTokens: 1_000_000));
    }

    [Fact]
    public void An_unknown_model_is_rejected_with_every_valid_choice()
    {
        var catalog = new ModelCatalog(Options());

        Assert.False(ModelRequest.TryResolve(catalog, "gpt-9", out _, out var error));
        Assert.Equal(400, error.Status);
        Assert.Equal("model", error.Param);
        foreach (var name in new[] { "auto", "router/economy", "router/standard", "router/premium", "small", "mid", "big" })
        {
            Assert.Contains(name, error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("auto", ModelRequestKind.Auto, null)]
    [InlineData("router/premium", ModelRequestKind.Tier, ModelTier.Premium)]
    [InlineData("Router/Economy", ModelRequestKind.Tier, ModelTier.Economy)]
    [InlineData("mid", ModelRequestKind.Pinned, ModelTier.Standard)]
    public void Resolves_aliases_and_pinned_models(string model, ModelRequestKind kind, ModelTier? tier)
    {
        Assert.True(ModelRequest.TryResolve(new ModelCatalog(Options()), model, out var request, out _));
        Assert.Equal(kind, request.Kind);
        Assert.Equal(tier, request.Tier);
    }

    [Theory]
    [InlineData("router/2")]
    [InlineData("router/0")]
    [InlineData("router/-1")]
    [InlineData("router/economy,premium")]
    [InlineData("router/ economy")]
    [InlineData("router/")]
    public void A_tier_alias_that_is_not_listed_is_an_unknown_model(string model)
    {
        Assert.False(ModelRequest.TryResolve(new ModelCatalog(Options()), model, out _, out var error));
        Assert.Equal(400, error.Status);
        Assert.Equal("model_not_found", error.Code);
        Assert.Contains("router/economy", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validation_reports_every_error_naming_its_setting()
    {
        var options = Options();
        options.Models["ghost"] = new ModelOptions { Provider = "nowhere" };
        options.Models["auto"] = new ModelOptions { Provider = "sim" };
        options.Providers["bad"] = new ProviderOptions { Endpoint = "ftp://x" };
        options.BaselineModel = "missing";

        var result = new RouterOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        var failures = result.Failures!.ToArray();
        Assert.Contains(failures, f => f.StartsWith("Router:Models:ghost:Provider", StringComparison.Ordinal) && f.Contains("nowhere", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Router:Models:auto", StringComparison.Ordinal) && f.Contains("reserved", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Router:Providers:bad:Endpoint", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Router:BaselineModel", StringComparison.Ordinal));
        Assert.Equal(ValidateOptionsResult.Success, new RouterOptionsValidator().Validate(null, Options()));
    }
}
