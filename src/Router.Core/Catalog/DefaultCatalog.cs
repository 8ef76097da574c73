namespace Router.Core.Catalog;

/// <summary>The built-in catalog of real models with their list prices (USD per million tokens; README "Default
/// catalog" gives the source and date). A model becomes callable once its provider is configured, e.g. with
/// <c>Router__Providers__openai__ApiKey</c>; configured models with the same id replace these.</summary>
public static class DefaultCatalog
{
    /// <summary>Endpoints used for well-known providers when only their key is configured.</summary>
    public static IReadOnlyDictionary<string, string> WellKnownEndpoints { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["openai"] = "https://api.openai.com/v1",
        ["groq"] = "https://api.groq.com/openai/v1",
    };

    /// <summary>The default models by id.</summary>
    public static IReadOnlyDictionary<string, ModelOptions> Models { get; } = new Dictionary<string, ModelOptions>(StringComparer.OrdinalIgnoreCase)
    {
        // OpenAI: Predicted Outputs on the gpt-4o and gpt-4.1 families; none of these accepts reasoning_effort.
        ["gpt-4.1-nano"] = Model("openai", ModelTier.Economy, 0.10m, 0.025m, 0.40m, 1_047_576, 32_768, vision: true, prediction: true),
        ["gpt-4o-mini"] = Model("openai", ModelTier.Economy, 0.15m, 0.075m, 0.60m, 128_000, 16_384, vision: true, prediction: true),
        ["gpt-4.1-mini"] = Model("openai", ModelTier.Standard, 0.40m, 0.10m, 1.60m, 1_047_576, 32_768, vision: true, prediction: true),
        ["gpt-4.1"] = Model("openai", ModelTier.Premium, 2.00m, 0.50m, 8.00m, 1_047_576, 32_768, vision: true, prediction: true),
        ["gpt-4o"] = Model("openai", ModelTier.Premium, 2.50m, 1.25m, 10.00m, 128_000, 16_384, vision: true, prediction: true),

        // Azure OpenAI (Global Standard deployments named after the model). Predicted Outputs need an api-version newer
        // than the default 2024-10-21, so they are not offered here.
        ["azure/gpt-4o-mini"] = Model("azure", ModelTier.Economy, 0.15m, 0.075m, 0.60m, 128_000, 16_384, vision: true, upstream: "gpt-4o-mini"),
        ["azure/gpt-4.1-mini"] = Model("azure", ModelTier.Standard, 0.40m, 0.10m, 1.60m, 1_047_576, 32_768, vision: true, upstream: "gpt-4.1-mini"),
        ["azure/gpt-4.1"] = Model("azure", ModelTier.Premium, 2.00m, 0.50m, 8.00m, 1_047_576, 32_768, vision: true, upstream: "gpt-4.1"),

        // Open-weights models on Groq's OpenAI-compatible API, which answers logprobs and top_logprobs with a 400.
        ["llama-3.1-8b-instant"] = Model("groq", ModelTier.Economy, 0.05m, 0.05m, 0.08m, 131_072, 8_192, logprobs: false),
        ["llama-3.3-70b-versatile"] = Model("groq", ModelTier.Standard, 0.59m, 0.59m, 0.79m, 131_072, 32_768, logprobs: false),
    };

    private static ModelOptions Model(
        string provider, ModelTier tier, decimal input, decimal cachedInput, decimal output, int context, int maxOutput,
        bool vision = false, string? upstream = null, bool prediction = false, bool logprobs = true) => new()
    {
        Provider = provider,
        UpstreamModel = upstream,
        Tier = tier,
        InputCostPerMillion = input,
        CachedInputCostPerMillion = cachedInput,
        OutputCostPerMillion = output,
        ContextWindow = context,
        MaxOutputTokens = maxOutput,
        SupportsVision = vision,
        SupportsPrediction = prediction,
        SupportsLogprobs = logprobs,
    };
}
