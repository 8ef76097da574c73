using Router.Core.Catalog;

namespace Router.Core.Chat;

/// <summary>One message of a chat request, reduced to what analysis, caching and routing need.</summary>
/// <param name="Role">system, developer, user, assistant, tool or function.</param>
/// <param name="Text">The concatenated text and refusal parts (empty when there are none).</param>
/// <param name="ImageCount">Number of image parts.</param>
/// <param name="HasToolCalls">An assistant message that carries tool calls.</param>
/// <param name="Attachments">Fingerprints of the non-text parts (images, files, audio) and tool calls, in order: their
/// type and a hash of their JSON. Empty when there are none.</param>
/// <param name="LowDetailImageCount">How many of the image parts ask for <c>detail: "low"</c>.</param>
/// <param name="NonTextPartCount">Content parts that are not text or a refusal (images, files, any other type), which
/// <paramref name="Text"/> does not hold.</param>
public sealed record ChatMessage(string Role, string Text, int ImageCount = 0, bool HasToolCalls = false, string Attachments = "", int LowDetailImageCount = 0,
    int NonTextPartCount = 0);

/// <summary>A byte range inside the request body.</summary>
/// <param name="Start">Offset of the first byte.</param>
/// <param name="Length">Number of bytes.</param>
public readonly record struct BodyRange(int Start, int Length)
{
    /// <summary>Offset after the last byte.</summary>
    public int End => Start + Length;

    /// <summary>True when the range was found.</summary>
    public bool IsSet => Length > 0;
}

/// <summary>A parsed, validated OpenAI chat completions request; the original body is kept for pass-through.</summary>
public sealed record ChatRequest
{
    /// <summary>The body exactly as the client sent it.</summary>
    public required ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>The requested model or alias.</summary>
    public required string Model { get; init; }

    /// <summary>The messages in order.</summary>
    public required IReadOnlyList<ChatMessage> Messages { get; init; }

    /// <summary>Whether the client asked for server-sent events.</summary>
    public bool Stream { get; init; }

    /// <summary><c>stream_options.include_usage</c> as the client sent it.</summary>
    public bool? IncludeUsage { get; init; }

    /// <summary>Whether <c>tools</c> or <c>functions</c> are present and non-empty.</summary>
    public bool HasTools { get; init; }

    /// <summary>The request needs a model that supports tools: it offers tools, or its history holds tool calls or tool
    /// results (a model without tool support often rejects those, and frameworks drop <c>tools</c> on a final call).</summary>
    public bool NeedsTools { get; init; }

    /// <summary>Bytes of JSON in tool definitions (<c>tools</c>, <c>functions</c>) and in earlier tool calls, which the
    /// provider bills as prompt tokens though no message text holds them.</summary>
    public int ToolJsonBytes { get; init; }

    /// <summary>The request asks for token log probabilities (<c>logprobs: true</c> or <c>top_logprobs</c>), which a cached answer cannot give.</summary>
    public bool WantsLogprobs { get; init; }

    /// <summary>The features only some models accept that the request uses (reasoning_effort, prediction, logprobs,
    /// sampling parameters); routing keeps to models that accept them.</summary>
    public ModelFeatures Features { get; init; }

    /// <summary><c>response_format.type</c> (text, json_object, json_schema) when present.</summary>
    public string? ResponseFormatType { get; init; }

    /// <summary>The larger of <c>max_completion_tokens</c> and <c>max_tokens</c>, whichever is sent.</summary>
    public int? MaxTokens { get; init; }

    /// <summary><c>n</c>, the number of choices (default 1).</summary>
    public int ChoiceCount { get; init; } = 1;

    /// <summary>The <c>user</c> field.</summary>
    public string? User { get; init; }

    /// <summary>String values of <c>metadata</c>.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = EmptyMetadata;

    /// <summary>Where the <c>model</c> value (with its quotes) sits in <see cref="Body"/>.</summary>
    public BodyRange ModelValue { get; init; }

    /// <summary>Where the <c>stream_options</c> property (name and value) sits, when present.</summary>
    public BodyRange StreamOptionsProperty { get; init; }

    /// <summary>Where the <c>stream_options</c> object (braces included) sits, when it is one.</summary>
    public BodyRange StreamOptionsValue { get; init; }

    /// <summary>Where the value of <c>stream_options.include_usage</c> sits, when present.</summary>
    public BodyRange IncludeUsageValue { get; init; }

    /// <summary>Where the router's own <c>router</c> extension property sits, when present; it is not forwarded.</summary>
    public BodyRange RouterProperty { get; init; }

    /// <summary>Raw JSON of the fields that change the answer besides messages (tools, response_format, sampling).</summary>
    public string AnswerShapingJson { get; init; } = "";

    /// <summary>Per-request router settings from the <c>router</c> extension object.</summary>
    public RouterRequestOptions RouterOptions { get; init; } = RouterRequestOptions.None;

    /// <summary>The last user message's text, or empty.</summary>
    public string LastUserText
    {
        get
        {
            for (var i = Messages.Count - 1; i >= 0; i--)
            {
                if (Messages[i].Role == "user")
                {
                    return Messages[i].Text;
                }
            }

            return "";
        }
    }

    /// <summary>The metadata of a request that sent none (shared, never changed).</summary>
    internal static IReadOnlyDictionary<string, string> EmptyMetadata { get; } = System.Collections.Frozen.FrozenDictionary<string, string>.Empty;
}

/// <summary>Router settings a client may send in the body's <c>router</c> object (removed before forwarding).</summary>
/// <param name="Quality">Cost/quality knob in [0, 1]: higher sends more traffic to stronger models.</param>
/// <param name="CacheThreshold">Semantic-cache similarity threshold, within the tenant's bounds.</param>
public sealed record RouterRequestOptions(double? Quality, double? CacheThreshold)
{
    /// <summary>No overrides.</summary>
    public static RouterRequestOptions None { get; } = new(null, null);
}
