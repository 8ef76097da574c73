using Microsoft.Extensions.Options;

namespace Router.Core.Catalog;

/// <summary>The models the router can call right now, resolved from <see cref="RouterOptions"/>.</summary>
public sealed class ModelCatalog
{
    /// <summary>The alias that lets the router choose any model.</summary>
    public const string AutoAlias = "auto";

    /// <summary>Prefix of the tier aliases (<c>router/economy</c>, <c>router/standard</c>, <c>router/premium</c>).</summary>
    public const string TierAliasPrefix = "router/";

    private readonly Dictionary<string, CatalogModel> _byId;
    private readonly Dictionary<ModelTier, IReadOnlyList<CatalogModel>> _byTier;

    /// <summary>Builds the catalog from validated options.</summary>
    public ModelCatalog(IOptions<RouterOptions> options)
        : this(options.Value)
    {
    }

    /// <summary>Builds the catalog from options; models whose provider is missing, disabled or lacks an endpoint are left out.</summary>
    public ModelCatalog(RouterOptions options)
    {
        var providers = new Dictionary<string, ProviderDescriptor>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, provider) in options.Providers)
        {
            var address = provider.Endpoint;
            if (string.IsNullOrWhiteSpace(address) && !string.IsNullOrEmpty(provider.ApiKey))
            {
                address = DefaultCatalog.WellKnownEndpoints.GetValueOrDefault(name);
            }

            if (provider.Enabled && Uri.TryCreate(address, UriKind.Absolute, out var endpoint))
            {
                providers[name] = new ProviderDescriptor(name, provider.Type, endpoint, provider.ApiKey, provider.ApiVersion);
            }
        }

        _byId = new Dictionary<string, CatalogModel>(StringComparer.OrdinalIgnoreCase);
        var models = options.UseDefaultCatalog
            ? DefaultCatalog.Models.Where(d => !options.Models.ContainsKey(d.Key)).Concat(options.Models)
            : options.Models;
        foreach (var (id, model) in models)
        {
            if (!model.Enabled || model.Provider is null || !providers.TryGetValue(model.Provider, out var provider))
            {
                continue;
            }

            _byId[id] = new CatalogModel
            {
                Id = id,
                Provider = provider,
                UpstreamModel = string.IsNullOrWhiteSpace(model.UpstreamModel) ? id : model.UpstreamModel,
                Tier = model.Tier,
                InputCostPerMillion = model.InputCostPerMillion,
                CachedInputCostPerMillion = model.CachedInputCostPerMillion ?? model.InputCostPerMillion,
                OutputCostPerMillion = model.OutputCostPerMillion,
                ContextWindow = model.ContextWindow,
                MaxOutputTokens = model.MaxOutputTokens,
                SupportsTools = model.SupportsTools,
                SupportsVision = model.SupportsVision,
                SupportsJsonSchema = model.SupportsJsonSchema,
                SupportsStreaming = model.SupportsStreaming,
                SupportsReasoningEffort = model.SupportsReasoningEffort,
                SupportsPrediction = model.SupportsPrediction,
                SupportsLogprobs = model.SupportsLogprobs,
                SupportsSamplingParameters = model.SupportsSamplingParameters,
            };
        }

        Providers = providers.Values.OrderBy(p => p.Name, StringComparer.Ordinal).ToArray();
        Models = _byId.Values
            .OrderBy(m => m.Tier)
            .ThenBy(m => m.BlendedCostPerMillion)
            .ThenBy(m => m.Id, StringComparer.Ordinal)
            .ToArray();
        _byTier = Models.GroupBy(m => m.Tier).ToDictionary(g => g.Key, g => (IReadOnlyList<CatalogModel>)g.ToArray());
        Baseline = options.BaselineModel is { } baseline && _byId.TryGetValue(baseline, out var configured)
            ? configured
            : Models.Where(m => m.Tier == Models.Max(x => x.Tier)).MaxBy(m => m.BlendedCostPerMillion);
    }

    /// <summary>Providers with an endpoint, by name.</summary>
    public IReadOnlyList<ProviderDescriptor> Providers { get; }

    /// <summary>Callable models, ordered by tier, then price.</summary>
    public IReadOnlyList<CatalogModel> Models { get; }

    /// <summary>The model whose price is the savings baseline; null when the catalog is empty.</summary>
    public CatalogModel? Baseline { get; }

    /// <summary>True when no model can be called.</summary>
    public bool IsEmpty => Models.Count == 0;

    /// <summary>Finds a model by catalog id, case-insensitively.</summary>
    public bool TryGet(string id, out CatalogModel model) => _byId.TryGetValue(id, out model!);

    /// <summary>Models of one tier, cheapest first.</summary>
    public IReadOnlyList<CatalogModel> InTier(ModelTier tier) => _byTier.GetValueOrDefault(tier) ?? [];

    /// <summary>The aliases clients may send instead of a model id.</summary>
    public static IReadOnlyList<string> Aliases { get; } =
    [
        AutoAlias,
        TierAliasPrefix + "economy",
        TierAliasPrefix + "standard",
        TierAliasPrefix + "premium",
    ];

    /// <summary>Every name a client may send as <c>model</c>: the aliases, then the catalog ids.</summary>
    public IEnumerable<string> ValidModelNames => Aliases.Concat(Models.Select(m => m.Id));
}
