namespace Router.Core.Catalog;

/// <summary>A provider the router can call, resolved from configuration.</summary>
public sealed record ProviderDescriptor(string Name, ProviderType Type, Uri Endpoint, string? ApiKey, string ApiVersion);

/// <summary>A model of the catalog: its provider, tier, prices and capabilities.</summary>
public sealed record CatalogModel
{
    /// <summary>Catalog id, the name clients send as <c>model</c>.</summary>
    public required string Id { get; init; }

    /// <summary>The provider that serves it.</summary>
    public required ProviderDescriptor Provider { get; init; }

    /// <summary>Model or deployment name the provider knows.</summary>
    public required string UpstreamModel { get; init; }

    /// <summary>Tier the model serves.</summary>
    public required ModelTier Tier { get; init; }

    /// <summary>USD per million prompt tokens.</summary>
    public decimal InputCostPerMillion { get; init; }

    /// <summary>USD per million cached prompt tokens.</summary>
    public decimal CachedInputCostPerMillion { get; init; }

    /// <summary>USD per million completion tokens.</summary>
    public decimal OutputCostPerMillion { get; init; }

    /// <summary>Context window in tokens.</summary>
    public int ContextWindow { get; init; } = 128_000;

    /// <summary>Largest completion in tokens.</summary>
    public int MaxOutputTokens { get; init; } = 16_384;

    /// <summary>Accepts tools.</summary>
    public bool SupportsTools { get; init; } = true;

    /// <summary>Accepts image parts.</summary>
    public bool SupportsVision { get; init; }

    /// <summary>Accepts json_schema response formats.</summary>
    public bool SupportsJsonSchema { get; init; } = true;

    /// <summary>Streams.</summary>
    public bool SupportsStreaming { get; init; } = true;

    /// <summary>Accepts <c>reasoning_effort</c>.</summary>
    public bool SupportsReasoningEffort { get; init; }

    /// <summary>Accepts <c>prediction</c> (Predicted Outputs).</summary>
    public bool SupportsPrediction { get; init; }

    /// <summary>Accepts <c>logprobs</c> and <c>top_logprobs</c>.</summary>
    public bool SupportsLogprobs { get; init; } = true;

    /// <summary>Accepts <c>temperature</c>, <c>top_p</c>, <c>presence_penalty</c> and <c>frequency_penalty</c>.</summary>
    public bool SupportsSamplingParameters { get; init; } = true;

    /// <summary>The features of <paramref name="required"/> the model does not accept; none for a request that uses none.</summary>
    public ModelFeatures Lacking(ModelFeatures required)
    {
        if (required == ModelFeatures.None)
        {
            return ModelFeatures.None;
        }

        var accepted = (SupportsReasoningEffort ? ModelFeatures.ReasoningEffort : ModelFeatures.None)
            | (SupportsPrediction ? ModelFeatures.Prediction : ModelFeatures.None)
            | (SupportsLogprobs ? ModelFeatures.Logprobs : ModelFeatures.None)
            | (SupportsSamplingParameters ? ModelFeatures.SamplingParameters : ModelFeatures.None);
        return required & ~accepted;
    }

    /// <summary>Blended price per million tokens at a 3:1 input:output mix, used to order models by cost.</summary>
    public decimal BlendedCostPerMillion => (3 * InputCostPerMillion + OutputCostPerMillion) / 4;

    /// <summary>The USD cost of a call with the given token counts.</summary>
    public decimal Cost(long promptTokens, long completionTokens, long cachedPromptTokens = 0)
    {
        // Never below zero, whatever counts it is given: a cost is never a credit.
        promptTokens = Math.Max(0, promptTokens);
        completionTokens = Math.Max(0, completionTokens);
        cachedPromptTokens = Math.Clamp(cachedPromptTokens, 0, promptTokens);
        var uncached = promptTokens - cachedPromptTokens;
        return (uncached * InputCostPerMillion
                + Math.Min(cachedPromptTokens, promptTokens) * CachedInputCostPerMillion
                + completionTokens * OutputCostPerMillion) / 1_000_000m;
    }
}
