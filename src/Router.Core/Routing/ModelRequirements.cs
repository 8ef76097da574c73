using System.Text.Json.Serialization;
using Router.Core.Analysis;
using Router.Core.Catalog;
using Router.Core.Chat;

namespace Router.Core.Routing;

/// <summary>What a request needs of a model: the context it fills and the capabilities it uses. Routing serves it only
/// with models that meet them, and a probe audit tests only such a model (so the job carries them).</summary>
public readonly record struct ModelRequirements
{
    /// <summary>Tokens of context the request needs: its prompt and <c>max_tokens</c>.</summary>
    [JsonPropertyName("context_tokens")] public int ContextTokens { get; init; }

    /// <summary>It offers tools, or its history holds tool calls or results.</summary>
    [JsonPropertyName("tools")] public bool Tools { get; init; }

    /// <summary>It has image parts.</summary>
    [JsonPropertyName("images")] public bool Images { get; init; }

    /// <summary>It asks for a json_schema response format.</summary>
    [JsonPropertyName("json_schema")] public bool JsonSchema { get; init; }

    /// <summary>It asks for a stream.</summary>
    [JsonPropertyName("streaming")] public bool Streaming { get; init; }

    /// <summary>The features only some models accept that it uses.</summary>
    [JsonPropertyName("features")]
    [JsonConverter(typeof(JsonStringEnumConverter<ModelFeatures>))]
    public ModelFeatures Features { get; init; }

    /// <summary>The requirements of <paramref name="request"/>, whose analysis is <paramref name="profile"/>.</summary>
    public static ModelRequirements Of(ChatRequest request, RequestProfile profile) => new()
    {
        ContextTokens = profile.PromptTokens + (request.MaxTokens ?? 0),
        Tools = request.NeedsTools,
        Images = profile.HasImages,
        JsonSchema = request.ResponseFormatType == "json_schema",
        Streaming = request.Stream,
        Features = request.Features,
    };

    /// <summary>Whether <paramref name="model"/> has the context and capabilities, leaving the features aside (a model the
    /// client names is sent them as they are).</summary>
    public bool FitIn(CatalogModel model) =>
        model.ContextWindow >= ContextTokens
        && (!Tools || model.SupportsTools)
        && (!Images || model.SupportsVision)
        && (!JsonSchema || model.SupportsJsonSchema)
        && (!Streaming || model.SupportsStreaming);

    /// <summary>Whether <paramref name="model"/> can serve the request: it fits and accepts every feature used.</summary>
    public bool MetBy(CatalogModel model) => FitIn(model) && model.Lacking(Features) == ModelFeatures.None;
}
