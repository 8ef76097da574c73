using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Router.Core.Catalog;

namespace Router.Core.Chat;

/// <summary>Reads an OpenAI chat completions body in one forward pass, validating what the router relies on and
/// skipping everything else, so unknown fields pass through untouched.</summary>
public static class ChatRequestParser
{
    private static readonly string[] ValidRoles = ["system", "developer", "user", "assistant", "tool", "function"];

    // Processing tiers passed to the provider. The router meters every call at the catalog's standard prices, so a tier
    // the provider bills higher ('priority', 'scale', anything new) is refused; 'flex' costs the operator less, never more.
    private static readonly string[] PassedServiceTiers = ["auto", "default", "flex"];

    // Fields the router checks that change the answer besides the messages; they take part in cache keys, and so does
    // every field the router does not know (top_k, min_p, repetition_penalty, reasoning, thinking, chat_template_kwargs:
    // provider extensions passed through untouched), except the few below that cannot change the answer's content.
    private static readonly string[] NotAnswerShapingFields =
    [
        "store", "service_tier", "safety_identifier", "prompt_cache_key", "prompt_cache_retention",
    ];

    /// <summary>Parses <paramref name="body"/>; returns false with an OpenAI-style 400 error when it is not a valid request.</summary>
    public static bool TryParse(ReadOnlyMemory<byte> body, out ChatRequest request, out RouterError error)
    {
        request = null!;
        error = null!;
        if (body.IsEmpty || body.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            error = RouterError.InvalidRequest("The request body is empty; expected a JSON object with 'model' and 'messages'.");
            return false;
        }

        // JSON text is UTF-8 (RFC 8259). The reader checks only the strings it decodes, so bytes in a field passed
        // through untouched would otherwise reach the provider.
        if (!Utf8.IsValid(body.Span))
        {
            error = RouterError.NotUtf8();
            return false;
        }

        try
        {
            return TryParseCore(body, out request, out error);
        }
        catch (JsonException ex)
        {
            // The reader's message names the line and byte position, nothing else.
            error = RouterError.InvalidRequest($"The request body is not valid JSON: {ex.Message}", code: "invalid_json");
            return false;
        }
        catch (InvalidOperationException)
        {
            // What the reader throws when a string it decodes holds an unpaired surrogate escape ("\ud800").
            error = RouterError.UnpairedSurrogate();
            return false;
        }
    }

    private static bool TryParseCore(ReadOnlyMemory<byte> body, out ChatRequest request, out RouterError error)
    {
        request = null!;
        var reader = new Utf8JsonReader(body.Span, new JsonReaderOptions { MaxDepth = 128 });
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = RouterError.InvalidRequest("The request body must be a JSON object.");
            return false;
        }

        string? model = null;
        BodyRange modelRange = default, streamOptionsRange = default, streamOptionsValue = default, includeUsageValue = default, routerRange = default;
        List<ChatMessage>? messages = null;
        bool stream = false, hasTools = false, logprobs = false;
        var features = ModelFeatures.None;
        var toolJsonBytes = 0;
        bool? includeUsage = null;
        string? responseFormatType = null, user = null;
        int? maxTokens = null, maxCompletionTokens = null;
        var choices = 1;
        Dictionary<string, string>? metadata = null;
        SortedDictionary<string, string>? shaping = null;
        RouterRequestOptions routerOptions = RouterRequestOptions.None;

        // Names seen so far, as 64-bit hashes: a property sent twice is refused, since the router would read the last
        // value (the model, max_tokens, the messages it analyses and bills) while the provider may take the first.
        Span<ulong> seen = stackalloc ulong[32];
        var seenCount = 0;
        HashSet<string>? seenMore = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var propertyStart = (int)reader.TokenStartIndex;
            var name = reader.GetString()!;
            if (!FirstTimeSeen(name, seen, ref seenCount, ref seenMore))
            {
                error = RouterError.InvalidRequest($"'{name}' appears more than once in the request body.", name);
                return false;
            }

            reader.Read();
            var valueStart = (int)reader.TokenStartIndex;
            switch (name)
            {
                case "model":
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        error = WrongType("model", "a string");
                        return false;
                    }

                    model = reader.GetString();
                    modelRange = new BodyRange(valueStart, (int)reader.BytesConsumed - valueStart);
                    break;
                case "messages":
                    if (!TryReadMessages(ref reader, body.Span, out messages, ref toolJsonBytes, out error))
                    {
                        return false;
                    }

                    break;
                case "stream":
                    if (!TryReadBool(ref reader, "stream", out var s, out error))
                    {
                        return false;
                    }

                    stream = s ?? false;
                    break;
                case "stream_options":
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        if (!TryReadIncludeUsage(ref reader, out includeUsage, out includeUsageValue, out error))
                        {
                            return false;
                        }

                        streamOptionsValue = new BodyRange(valueStart, (int)reader.BytesConsumed - valueStart);
                    }
                    else if (reader.TokenType != JsonTokenType.Null)
                    {
                        error = WrongType("stream_options", "an object");
                        return false;
                    }

                    streamOptionsRange = new BodyRange(propertyStart, (int)reader.BytesConsumed - propertyStart);
                    break;
                case "router":
                    if (!TryReadRouterOptions(ref reader, out routerOptions, out error))
                    {
                        return false;
                    }

                    routerRange = new BodyRange(propertyStart, (int)reader.BytesConsumed - propertyStart);
                    break;
                case "user":
                    if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null))
                    {
                        error = WrongType("user", "a string");
                        return false;
                    }

                    user = reader.GetString();
                    break;
                case "metadata":
                    if (!TryReadMetadata(ref reader, out metadata, out error))
                    {
                        return false;
                    }

                    break;
                default:
                    if (name == "service_tier" && !TryCheckServiceTier(ref reader, out error))
                    {
                        return false;
                    }

                    if (UnpricedFeature(ref reader, name) is { } unpriced)
                    {
                        error = unpriced;
                        return false;
                    }

                    if (Array.IndexOf(NotAnswerShapingFields, name) >= 0)
                    {
                        reader.Skip();
                        break;
                    }

                    switch (name)
                    {
                        case "tools" or "functions":
                            if (reader.TokenType == JsonTokenType.StartArray)
                            {
                                reader.Read();
                                hasTools |= reader.TokenType != JsonTokenType.EndArray;
                                if (reader.TokenType != JsonTokenType.EndArray)
                                {
                                    reader.Skip();
                                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                                    {
                                        reader.Skip();
                                    }
                                }
                            }
                            else if (reader.TokenType != JsonTokenType.Null)
                            {
                                error = WrongType(name, "an array");
                                return false;
                            }

                            toolJsonBytes += (int)reader.BytesConsumed - valueStart;
                            break;
                        case "response_format":
                            if (reader.TokenType == JsonTokenType.StartObject)
                            {
                                responseFormatType = ReadStringProperty(ref reader, "type");
                            }
                            else if (reader.TokenType != JsonTokenType.Null)
                            {
                                error = WrongType(name, "an object");
                                return false;
                            }

                            break;
                        case "max_tokens" or "max_completion_tokens" or "n":
                            if (!TryReadPositiveInt(ref reader, name, out var value, out error))
                            {
                                return false;
                            }

                            if (name == "n")
                            {
                                // OpenAI's own limit; more would only multiply what one request can cost.
                                if (value > MaxChoices)
                                {
                                    error = RouterError.InvalidRequest($"'n' must be at most {MaxChoices}.", "n");
                                    return false;
                                }

                                choices = value ?? 1;
                            }
                            else if (name == "max_tokens")
                            {
                                maxTokens = value;
                            }
                            else
                            {
                                maxCompletionTokens = value;
                            }

                            break;
                        case "logprobs":
                            logprobs |= reader.TokenType == JsonTokenType.True;
                            reader.Skip();
                            break;
                        case "top_logprobs":
                            logprobs |= reader.TokenType == JsonTokenType.Number;
                            reader.Skip();
                            break;
                        case "temperature" or "top_p" or "presence_penalty" or "frequency_penalty":
                            if (reader.TokenType is not (JsonTokenType.Number or JsonTokenType.Null))
                            {
                                error = WrongType(name, "a number");
                                return false;
                            }

                            // Reasoning models refuse these but accept their defaults (temperature and top_p 1, the
                            // penalties 0), which many clients send on every request: only another value needs a model
                            // that samples.
                            if (reader.TokenType == JsonTokenType.Number
                                && (!reader.TryGetDouble(out var sampling) || sampling != SamplingDefault(name)))
                            {
                                features |= ModelFeatures.SamplingParameters;
                            }

                            break;
                        case "reasoning_effort" or "prediction":
                            if (reader.TokenType != JsonTokenType.Null)
                            {
                                features |= name == "prediction" ? ModelFeatures.Prediction : ModelFeatures.ReasoningEffort;
                            }

                            reader.Skip();
                            break;
                        default:
                            reader.Skip();
                            break;
                    }

                    shaping ??= new SortedDictionary<string, string>(StringComparer.Ordinal);
                    shaping[name] = Encoding.UTF8.GetString(body.Span[valueStart..(int)reader.BytesConsumed]);
                    break;
            }
        }

        // Trailing bytes after the object make the reader throw, which reports them as invalid JSON.
        reader.Read();

        if (model is null)
        {
            error = RouterError.InvalidRequest("You must provide a model parameter ('auto' lets the router choose).", "model", "missing_required_parameter");
            return false;
        }

        if (string.IsNullOrWhiteSpace(model))
        {
            error = RouterError.InvalidRequest("'model' must not be empty ('auto' lets the router choose).", "model");
            return false;
        }

        if (messages is null)
        {
            error = RouterError.InvalidRequest("You must provide 'messages', a non-empty array of chat messages.", "messages", "missing_required_parameter");
            return false;
        }

        if (messages.Count == 0)
        {
            error = RouterError.InvalidRequest("'messages' must contain at least one message.", "messages");
            return false;
        }

        // OpenAI refuses stream options on a request that does not stream; passed through, the same request would be
        // refused or answered depending on the provider it is routed to. A null is no option and is accepted.
        if (!stream && streamOptionsValue.IsSet)
        {
            error = RouterError.InvalidRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options", "invalid_value");
            return false;
        }

        request = new ChatRequest
        {
            Body = body,
            Model = model,
            Messages = messages,
            Stream = stream,
            IncludeUsage = includeUsage,
            HasTools = hasTools,
            NeedsTools = hasTools || messages.Exists(m => m.HasToolCalls || m.Role is "tool" or "function"),
            WantsLogprobs = logprobs,
            Features = features | (logprobs ? ModelFeatures.Logprobs : ModelFeatures.None),
            ToolJsonBytes = toolJsonBytes,
            ResponseFormatType = responseFormatType,
            // A provider may honour either field when both are sent: the larger bounds what the answer can cost.
            MaxTokens = maxCompletionTokens is { } completion && maxTokens is { } legacy ? Math.Max(completion, legacy) : maxCompletionTokens ?? maxTokens,
            ChoiceCount = choices,
            User = user,
            Metadata = metadata ?? ChatRequest.EmptyMetadata,
            ModelValue = modelRange,
            StreamOptionsProperty = streamOptionsRange,
            StreamOptionsValue = streamOptionsValue,
            IncludeUsageValue = includeUsageValue,
            RouterProperty = routerRange,
            AnswerShapingJson = shaping is null ? "" : string.Join(';', shaping.Select(p => p.Key + "=" + p.Value)),
            RouterOptions = routerOptions,
        };
        error = null!;
        return true;
    }

    private static bool FirstTimeSeen(string name, Span<ulong> seen, ref int count, ref HashSet<string>? more)
    {
        var hash = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(name.AsSpan()));
        if (seen[..count].Contains(hash))
        {
            return false;
        }

        if (count < seen.Length)
        {
            seen[count++] = hash;
            return true;
        }

        more ??= new HashSet<string>(StringComparer.Ordinal);
        return more.Add(name);
    }

    private static bool TryReadMessages(ref Utf8JsonReader reader, ReadOnlySpan<byte> body, out List<ChatMessage> messages, ref int toolJsonBytes, out RouterError error)
    {
        messages = [];
        error = null!;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            error = WrongType("messages", "an array of message objects");
            return false;
        }

        var text = new StringBuilder();
        StringBuilder? attachments = null;   // only requests with images, files or tool calls need one
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var index = messages.Count;
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                error = WrongType($"messages[{index}]", "an object with 'role' and 'content'");
                return false;
            }

            string? role = null;
            int images = 0, lowDetailImages = 0, nonText = 0;
            var toolCalls = false;
            text.Clear();
            attachments?.Clear();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var property = reader.GetString();
                reader.Read();
                switch (property)
                {
                    case "role":
                        if (reader.TokenType != JsonTokenType.String)
                        {
                            error = WrongType($"messages[{index}].role", "a string");
                            return false;
                        }

                        role = reader.GetString();
                        break;
                    case "content":
                        if (!TryReadContent(ref reader, body, index, text, ref attachments, ref images, ref lowDetailImages, ref nonText, out error))
                        {
                            return false;
                        }

                        break;
                    case "tool_calls" or "function_call":
                        toolCalls |= reader.TokenType is JsonTokenType.StartArray or JsonTokenType.StartObject;
                        var callsStart = (int)reader.TokenStartIndex;
                        reader.Skip();
                        toolJsonBytes += (int)reader.BytesConsumed - callsStart;
                        AddAttachment(ref attachments, property, body[callsStart..(int)reader.BytesConsumed]);
                        break;
                    case "audio" when reader.TokenType != JsonTokenType.Null:
                        // An earlier spoken answer, which the provider reads back as audio input tokens.
                        error = Unpriced("messages", $"messages[{index}].audio", "audio input");
                        return false;
                    default:
                        reader.Skip();
                        break;
                }
            }

            if (role is null)
            {
                error = RouterError.InvalidRequest($"messages[{index}] is missing 'role'.", $"messages[{index}].role", "missing_required_parameter");
                return false;
            }

            if (Array.IndexOf(ValidRoles, role) < 0)
            {
                error = RouterError.InvalidRequest(
                    $"messages[{index}].role '{Truncate(role)}' is not valid; expected one of {string.Join(", ", ValidRoles)}.",
                    $"messages[{index}].role");
                return false;
            }

            messages.Add(new ChatMessage(role, text.ToString(), images, toolCalls, attachments is not { Length: > 0 } ? "" : attachments.ToString(), lowDetailImages, nonText));
        }

        return true;
    }

    private static bool TryReadContent(
        ref Utf8JsonReader reader, ReadOnlySpan<byte> body, int index, StringBuilder text, ref StringBuilder? attachments, ref int images, ref int lowDetailImages, ref int nonText, out RouterError error)
    {
        error = null!;
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                text.Append(reader.GetString());
                return true;
            case JsonTokenType.Null:
                return true;
            case JsonTokenType.StartArray:
                var part = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        error = WrongType($"messages[{index}].content[{part}]", "a content part object");
                        return false;
                    }

                    string? type = null, partText = null, refusal = null, innerDetail = null, outerDetail = null;
                    var partStart = (int)reader.TokenStartIndex;
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var property = reader.GetString();
                        reader.Read();
                        if (property == "type" && reader.TokenType == JsonTokenType.String)
                        {
                            type = reader.GetString();
                        }
                        else if (property == "text" && reader.TokenType == JsonTokenType.String)
                        {
                            partText = reader.GetString();
                        }
                        else if (property == "refusal" && reader.TokenType == JsonTokenType.String)
                        {
                            refusal = reader.GetString();
                        }
                        else if (property == "image_url" && reader.TokenType == JsonTokenType.StartObject)
                        {
                            innerDetail = ReadStringProperty(ref reader, "detail");
                        }
                        else if (property == "detail" && reader.TokenType == JsonTokenType.String)
                        {
                            // input_image parts carry their detail beside the image, not inside it.
                            outerDetail = reader.GetString();
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }

                    if (type is null)
                    {
                        error = RouterError.InvalidRequest($"messages[{index}].content[{part}] is missing 'type'.", $"messages[{index}].content[{part}].type");
                        return false;
                    }

                    // A refusal part (an earlier answer the model declined to give) is text the model wrote: read as text, it
                    // counts as prompt tokens and an audit carries it, where as a part it would hold the conversation back
                    // from audits as if it had an image.
                    if (type is "text" or "input_text" or "refusal")
                    {
                        if (text.Length > 0)
                        {
                            text.Append('\n');
                        }

                        text.Append(type == "refusal" ? refusal : partText);
                    }
                    else if (type == "input_audio")
                    {
                        error = Unpriced("messages", type, "audio input");
                        return false;
                    }
                    else
                    {
                        if (type is "image_url" or "input_image" or "image")
                        {
                            images++;
                            // Only where the part's format puts it: an image_url part's detail is inside image_url, and
                            // one beside it is ignored by the provider (which bills such an image at auto, or high).
                            var detail = type == "image_url" ? innerDetail : outerDetail ?? innerDetail;
                            lowDetailImages += detail == "low" ? 1 : 0;
                        }

                        // An image, file or audio part: its bytes, not only its presence, decide what the answer is.
                        AddAttachment(ref attachments, type, body[partStart..(int)reader.BytesConsumed]);
                        nonText++;
                    }

                    part++;
                }

                return true;
            default:
                error = WrongType($"messages[{index}].content", "a string or an array of content parts");
                return false;
        }
    }

    /// <summary>Appends a fingerprint of a non-text part (its type and a SHA-256 of its JSON) to the message's attachments.</summary>
    private static void AddAttachment(ref StringBuilder? attachments, string? type, ReadOnlySpan<byte> json)
    {
        attachments ??= new StringBuilder();
        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(json, hash);
        attachments.Append(type).Append(':').Append(Convert.ToHexStringLower(hash[..16])).Append(';');
    }

    // include_usage sent twice is refused, as a top-level property sent twice is: the router sets and reads the last, and
    // a provider that takes the first would stream without usage.
    private static bool TryReadIncludeUsage(ref Utf8JsonReader reader, out bool? include, out BodyRange value, out RouterError error)
    {
        include = null;
        value = default;
        error = null!;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isInclude = reader.ValueTextEquals("include_usage"u8);
            if (isInclude && value.IsSet)
            {
                error = RouterError.InvalidRequest("'stream_options.include_usage' appears more than once in the request body.", "stream_options.include_usage");
                return false;
            }

            reader.Read();
            var start = (int)reader.TokenStartIndex;
            if (isInclude)
            {
                // A flag of another type ("yes", 1) is refused as OpenAI refuses it, rather than read as one value here
                // and as another by the provider.
                if (!TryReadBool(ref reader, "stream_options.include_usage", out include, out error))
                {
                    return false;
                }
            }
            else
            {
                reader.Skip();
            }

            if (isInclude)
            {
                // Where its value sits, whatever it is, so the upstream body can set it and leave the other options be.
                value = new BodyRange(start, (int)reader.BytesConsumed - start);
            }
        }

        return true;
    }

    private static string? ReadStringProperty(ref Utf8JsonReader reader, string propertyName)
    {
        string? value = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var match = reader.ValueTextEquals(propertyName);
            reader.Read();
            if (match && reader.TokenType == JsonTokenType.String)
            {
                value = reader.GetString();
            }
            else
            {
                reader.Skip();
            }
        }

        return value;
    }

    private static bool TryReadRouterOptions(ref Utf8JsonReader reader, out RouterRequestOptions options, out RouterError error)
    {
        options = RouterRequestOptions.None;
        error = null!;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = WrongType("router", "an object");
            return false;
        }

        double? quality = null, threshold = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var property = reader.GetString();
            reader.Read();
            if (property is "quality" or "cache_threshold")
            {
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out var value) || value < 0 || value > 1)
                {
                    error = RouterError.InvalidRequest($"router.{property} must be a number between 0 and 1.", "router." + property, "invalid_value");
                    return false;
                }

                if (property == "quality")
                {
                    quality = value;
                }
                else
                {
                    threshold = value;
                }
            }
            else
            {
                // A misspelt option ("qualty") would otherwise route at the default without a word.
                error = RouterError.InvalidRequest(
                    $"router.{Truncate(property ?? "")} is not a router option; expected quality or cache_threshold.", "router." + Truncate(property ?? ""), "unknown_parameter");
                return false;
            }
        }

        options = new RouterRequestOptions(quality, threshold);
        return true;
    }

    private static bool TryReadMetadata(ref Utf8JsonReader reader, out Dictionary<string, string>? metadata, out RouterError error)
    {
        metadata = null;
        error = null!;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = WrongType("metadata", "an object of string values");
            return false;
        }

        metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            reader.Read();
            if (reader.TokenType == JsonTokenType.String)
            {
                metadata[key] = reader.GetString()!;
            }
            else
            {
                reader.Skip();
            }
        }

        return true;
    }

    private static bool TryReadBool(ref Utf8JsonReader reader, string name, out bool? value, out RouterError error)
    {
        error = null!;
        value = null;
        switch (reader.TokenType)
        {
            case JsonTokenType.True or JsonTokenType.False:
                value = reader.GetBoolean();
                return true;
            case JsonTokenType.Null:
                return true;
            default:
                error = WrongType(name, "a boolean");
                return false;
        }
    }

    /// <summary>The most choices (<c>n</c>) a request may ask for, as at OpenAI.</summary>
    internal const int MaxChoices = 128;

    private static bool TryReadPositiveInt(ref Utf8JsonReader reader, string name, out int? value, out RouterError error)
    {
        error = null!;
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var number) || number < 1)
        {
            error = RouterError.InvalidRequest($"'{name}' must be a positive integer.", name);
            return false;
        }

        value = number;
        return true;
    }

    /// <summary>The value of a sampling parameter (temperature, top_p, presence_penalty, frequency_penalty) that asks for
    /// nothing: OpenAI's default, the one value reasoning models accept.</summary>
    internal static double SamplingDefault(string name) => name is "temperature" or "top_p" ? 1 : 0;

    private static RouterError WrongType(string param, string expected) =>
        RouterError.InvalidRequest($"'{param}' must be {expected}.", param, "invalid_type");

    private static bool TryCheckServiceTier(ref Utf8JsonReader reader, out RouterError error)
    {
        error = null!;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            error = WrongType("service_tier", "a string");
            return false;
        }

        var tier = reader.GetString()!;
        if (Array.IndexOf(PassedServiceTiers, tier) < 0)
        {
            error = RouterError.InvalidRequest(
                $"service_tier '{Truncate(tier)}' is not supported: the router bills every call at the catalog's prices, which do not cover this tier. Send 'auto', 'default' or 'flex', or leave it out.",
                "service_tier", "invalid_value");
            return false;
        }

        return true;
    }

    // Fields that make the provider bill something the catalog's per-token prices do not cover; null when the value is
    // null or asks for nothing extra.
    private static RouterError? UnpricedFeature(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        switch (name)
        {
            case "modalities":
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    return WrongType(name, "an array of strings");
                }

                // Read on a copy: the value is still skipped and kept with the answer-shaping fields.
                var values = reader;
                while (values.Read() && values.TokenType != JsonTokenType.EndArray)
                {
                    if (values.TokenType == JsonTokenType.String && values.ValueTextEquals("audio"u8))
                    {
                        return Unpriced(name, "modalities 'audio'", "audio output");
                    }

                    values.Skip();
                }

                return null;
            case "audio":
                return Unpriced(name, name, "audio output");
            case "web_search_options":
                return Unpriced(name, name, "web search, which the provider charges per call on top of the tokens");
            case "data_sources":
                // Azure OpenAI On Your Data: the deployment queries a search index with credentials of the request's or
                // the resource's own identity, which would let any tenant read any index the operator's resource may read.
                return RouterError.InvalidRequest(
                    "data_sources (Azure OpenAI On Your Data) is not supported: the router bills every call at the catalog's per-token prices, which do not "
                    + "cover the search it runs, and the search would run with the router's own Azure identity.",
                    name, "unsupported_value");
            default:
                return null;
        }
    }

    private static RouterError Unpriced(string param, string what, string billed) =>
        RouterError.InvalidRequest(
            $"{what} is not supported: the router bills every call at the catalog's per-token prices, which do not cover {billed}.",
            param, "unsupported_value");

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
