using System.ComponentModel.DataAnnotations;

namespace Router.Core.Catalog;

/// <summary>The <c>Router</c> configuration section: providers, models and the request limits shared by both hosts.</summary>
public sealed class RouterOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Router";

    /// <summary>Key for the <c>/admin</c> endpoints; admin endpoints answer 401 while it is unset.</summary>
    public string? AdminKey { get; set; }

    /// <summary>Upstream providers by name (for example <c>openai</c>, <c>azure</c>, <c>sim</c>).</summary>
    public Dictionary<string, ProviderOptions> Providers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether the built-in catalog of real models (<see cref="DefaultCatalog"/>) is offered (default true).</summary>
    public bool UseDefaultCatalog { get; set; } = true;

    /// <summary>Catalog models by id; they replace default models with the same id.</summary>
    public Dictionary<string, ModelOptions> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Largest accepted request body in bytes (default 4 MiB); larger bodies get 413 before they are buffered.</summary>
    [Range(1024, 256 * 1024 * 1024)]
    public int MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Model whose price is the savings baseline (default: the most expensive premium model).</summary>
    public string? BaselineModel { get; set; }
}

/// <summary>One upstream provider.</summary>
public sealed class ProviderOptions
{
    /// <summary>Wire protocol (default <see cref="ProviderType.OpenAI"/>).</summary>
    public ProviderType Type { get; set; } = ProviderType.OpenAI;

    /// <summary>Base URL: <c>https://api.openai.com/v1</c> style for OpenAI, the resource URL for Azure OpenAI.</summary>
    public string? Endpoint { get; set; }

    /// <summary>API key; for Azure OpenAI leave it empty to use Entra ID (managed identity).</summary>
    public string? ApiKey { get; set; }

    /// <summary>Azure OpenAI api-version for deployment URLs (default <c>2024-10-21</c>).</summary>
    public string ApiVersion { get; set; } = "2024-10-21";

    /// <summary>Whether the provider is used at all (default true).</summary>
    public bool Enabled { get; set; } = true;
}

/// <summary>One catalog model: where it is served and what it costs.</summary>
public sealed class ModelOptions
{
    /// <summary>Name of the provider (a key of <see cref="RouterOptions.Providers"/>).</summary>
    public string? Provider { get; set; }

    /// <summary>Model or deployment name the provider knows (default: the catalog id).</summary>
    public string? UpstreamModel { get; set; }

    /// <summary>Tier the model serves (default Standard).</summary>
    public ModelTier Tier { get; set; } = ModelTier.Standard;

    /// <summary>USD per million prompt tokens.</summary>
    [Range(0, 10_000)]
    public decimal InputCostPerMillion { get; set; }

    /// <summary>USD per million cached prompt tokens (default: the input price).</summary>
    [Range(0, 10_000)]
    public decimal? CachedInputCostPerMillion { get; set; }

    /// <summary>USD per million completion tokens.</summary>
    [Range(0, 10_000)]
    public decimal OutputCostPerMillion { get; set; }

    /// <summary>Context window in tokens (default 128,000).</summary>
    [Range(1, 100_000_000)]
    public int ContextWindow { get; set; } = 128_000;

    /// <summary>Largest completion the model produces in tokens (default 16,384).</summary>
    [Range(1, 10_000_000)]
    public int MaxOutputTokens { get; set; } = 16_384;

    /// <summary>Accepts <c>tools</c> (default true).</summary>
    public bool SupportsTools { get; set; } = true;

    /// <summary>Accepts image parts (default false).</summary>
    public bool SupportsVision { get; set; }

    /// <summary>Accepts <c>response_format</c> json_schema (default true).</summary>
    public bool SupportsJsonSchema { get; set; } = true;

    /// <summary>Streams (default true).</summary>
    public bool SupportsStreaming { get; set; } = true;

    /// <summary>Accepts <c>reasoning_effort</c>, as reasoning models do (default false).</summary>
    public bool SupportsReasoningEffort { get; set; }

    /// <summary>Accepts <c>prediction</c>, Predicted Outputs (default false).</summary>
    public bool SupportsPrediction { get; set; }

    /// <summary>Accepts <c>logprobs</c> and <c>top_logprobs</c> (default true).</summary>
    public bool SupportsLogprobs { get; set; } = true;

    /// <summary>Accepts <c>temperature</c>, <c>top_p</c>, <c>presence_penalty</c> and <c>frequency_penalty</c>, which
    /// reasoning models refuse (default true).</summary>
    public bool SupportsSamplingParameters { get; set; } = true;

    /// <summary>Whether the model is used at all (default true).</summary>
    public bool Enabled { get; set; } = true;
}
