using System.Text.Json;

namespace Router.Core.Execution;

/// <summary>Token counts reported by a provider.</summary>
/// <param name="PromptTokens">Prompt tokens.</param>
/// <param name="CompletionTokens">Completion tokens.</param>
/// <param name="CachedPromptTokens">Prompt tokens the provider served from its prompt cache.</param>
public readonly record struct TokenUsage(int PromptTokens, int CompletionTokens, int CachedPromptTokens = 0);

/// <summary>What the router needs from a completion: usage, the first choice's finish reason and text.</summary>
/// <param name="Usage">Usage, when the provider reported it.</param>
/// <param name="FinishReason">The first choice's finish reason.</param>
/// <param name="Content">The first choice's message content (non-streaming) or delta content (a stream chunk).</param>
/// <param name="ChoiceCount">Number of entries in <c>choices</c>.</param>
/// <param name="MessageExtras">The first choice's message (or delta) carries more than its role and text: a refusal,
/// annotations (citations), tool or function calls, audio, reasoning. A cached answer replays the text alone, so such an
/// answer is not cached. Null fields and empty arrays (OpenAI sends <c>"refusal": null, "annotations": []</c>) are not extras.</param>
/// <param name="OtherContent">The text of every choice after the first, joined (null when there is one): what is counted
/// when the provider reports no usage for an answer of <c>n</c> &gt; 1 choices.</param>
/// <param name="ExtraText">Generated text outside <c>content</c>, in every choice: refusals, reasoning, and the names and
/// arguments of tool and function calls (null when there is none). The provider bills these as completion tokens, so they
/// are counted with the content when it reports no usage.</param>
public readonly record struct CompletionSummary(
    TokenUsage? Usage, string? FinishReason, string? Content, int ChoiceCount, bool MessageExtras = false, string? OtherContent = null, string? ExtraText = null)
{
    /// <summary>Everything the choices generated, joined: what is counted when the provider reports no usage.</summary>
    public string BillableText => string.Concat(Content, OtherContent, ExtraText);
}

/// <summary>Reads <see cref="CompletionSummary"/> from a completion body or a stream chunk without building a DOM.</summary>
public static class CompletionReader
{
    /// <summary>Whether <paramref name="json"/> is an object with a top-level <c>error</c> (an error a provider sent inside a
    /// stream, or as a 200 body) rather than a completion or chunk.</summary>
    public static bool IsErrorPayload(ReadOnlySpan<byte> json)
    {
        // Inside a string value the quotes are escaped, so text that merely mentions "error" does not get this far.
        if (json.IndexOf("\"error\""u8) < 0)
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isError = reader.ValueTextEquals("error"u8);
                reader.Read();
                if (isError && reader.TokenType is JsonTokenType.StartObject or JsonTokenType.String)
                {
                    return true;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        catch (InvalidOperationException)
        {
        }

        return false;
    }

    /// <summary>Whether <paramref name="json"/> is exactly one JSON value, whitespace aside (a body that can be relayed as JSON).</summary>
    public static bool IsOneJsonValue(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read())
            {
                return false;
            }

            reader.Skip();

            // Past the first value the reader finds the end of the input, or throws on anything but whitespace.
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Reads a completion or chunk; returns false when the JSON is malformed, is followed by anything but
    /// whitespace (a second completion, an HTML page: relayed whole, it would not parse) or a string in it cannot be decoded.</summary>
    public static bool TryRead(ReadOnlySpan<byte> json, out CompletionSummary summary)
    {
        summary = default;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            TokenUsage? usage = null;
            string? finish = null, content = null;
            System.Text.StringBuilder? others = null, generated = null;
            var choices = 0;
            var extras = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    usage = reader.TokenType == JsonTokenType.StartObject ? ReadUsage(ref reader) : null;
                }
                else if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                        {
                            if (choices++ == 0)
                            {
                                ReadChoice(ref reader, out finish, out content, out extras, ref generated);
                            }
                            else
                            {
                                ReadChoice(ref reader, out _, out var other, out _, ref generated);
                                (others ??= new()).Append(other);
                            }
                        }
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            // The object is whole; anything after it but whitespace throws here.
            if (reader.Read())
            {
                return false;
            }

            summary = new CompletionSummary(usage, finish, content, choices, extras, others?.ToString(), generated?.ToString());
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            // A string the reader cannot decode (invalid UTF-8, an unpaired surrogate escape): the body is still
            // relayed as the provider sent it, but the router reads nothing from it, as from malformed JSON.
            return false;
        }
    }

    // Usage the router can bill from: both counts present, whole and not negative (a larger count than an int holds is
    // read as int.MaxValue). Anything else (a negative, fractional, string or null count, or one missing) makes the
    // usage unreadable, and the router counts the tokens itself rather than bill a provider's broken figures: a negative
    // count would credit the tenant, a missing one bill nothing. A cached count is kept within the prompt's.
    private static TokenUsage? ReadUsage(ref Utf8JsonReader reader)
    {
        int? prompt = null, completion = null;
        var cached = 0;
        var broken = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("prompt_tokens"u8))
            {
                reader.Read();
                prompt = Count(ref reader);
                broken |= prompt is null;
            }
            else if (reader.ValueTextEquals("completion_tokens"u8))
            {
                reader.Read();
                completion = Count(ref reader);
                broken |= completion is null;
            }
            else if (reader.ValueTextEquals("prompt_tokens_details"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isCached = reader.ValueTextEquals("cached_tokens"u8);
                        reader.Read();
                        if (isCached)
                        {
                            cached = Count(ref reader) ?? 0;
                        }

                        reader.Skip();
                    }
                }
                else
                {
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return broken || prompt is not { } p || completion is not { } c ? null : new TokenUsage(p, c, Math.Min(cached, p));
    }

    // A token count: a JSON number, whole and not negative, at most int.MaxValue; null for anything else.
    private static int? Count(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.Number)
        {
            return null;
        }

        if (reader.TryGetInt64(out var whole))
        {
            return whole < 0 ? null : (int)Math.Min(whole, int.MaxValue);
        }

        return reader.TryGetDouble(out var number) && number >= 0 && double.IsFinite(number) && Math.Floor(number) == number
            ? (int)Math.Min(number, int.MaxValue)
            : null;
    }

    private static void ReadChoice(ref Utf8JsonReader reader, out string? finish, out string? content, out bool extras, ref System.Text.StringBuilder? generated)
    {
        finish = null;
        content = null;
        extras = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("finish_reason"u8))
            {
                reader.Read();
                finish = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("message"u8) || reader.ValueTextEquals("delta"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                // Providers that send the same thinking in several fields (OpenRouter: reasoning and reasoning_details,
                // some with reasoning_content too) are billed for one copy: the first of them in the message.
                var reasoningRead = false;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isContent = reader.ValueTextEquals("content"u8);
                    var isRole = reader.ValueTextEquals("role"u8);
                    var generatedBy = GeneratedBy(ref reader);
                    reader.Read();
                    if (generatedBy != Generated.None && reader.TokenType is JsonTokenType.String or JsonTokenType.StartArray or JsonTokenType.StartObject)
                    {
                        // Read rather than skipped: the value is an extra as below, and its text is billable.
                        extras |= reader.TokenType != JsonTokenType.StartArray;
                        var counted = generatedBy != Generated.Reasoning || !reasoningRead;
                        var before = generated?.Length ?? 0;
                        if (reader.TokenType == JsonTokenType.String)
                        {
                            if (counted)
                            {
                                (generated ??= new()).Append(reader.GetString());
                                reasoningRead |= generatedBy == Generated.Reasoning && generated.Length > before;
                            }

                            continue;
                        }

                        // Every token below: a tool call's name and arguments (ids and types are not generated text), or
                        // the text of a reasoning provider's parts.
                        var depth = reader.CurrentDepth;
                        while (reader.Read() && reader.CurrentDepth > depth)
                        {
                            extras = true;
                            if (reader.TokenType != JsonTokenType.PropertyName)
                            {
                                continue;
                            }

                            var wanted = counted && (generatedBy == Generated.Calls
                                ? reader.ValueTextEquals("name"u8) || reader.ValueTextEquals("arguments"u8)
                                : reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("content"u8) || reader.ValueTextEquals("summary"u8));
                            reader.Read();
                            if (wanted && reader.TokenType == JsonTokenType.String)
                            {
                                (generated ??= new()).Append(reader.GetString());
                            }
                        }

                        reasoningRead |= generatedBy == Generated.Reasoning && (generated?.Length ?? 0) > before;
                    }
                    else if (isContent && reader.TokenType == JsonTokenType.String)
                    {
                        content = reader.GetString();
                    }
                    else if (isContent || isRole || reader.TokenType == JsonTokenType.Null)
                    {
                        reader.Skip();
                    }
                    else if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        var depth = reader.CurrentDepth;
                        reader.Read();
                        extras |= reader.TokenType != JsonTokenType.EndArray;
                        while (!(reader.TokenType == JsonTokenType.EndArray && reader.CurrentDepth == depth))
                        {
                            reader.Skip();
                            reader.Read();
                        }
                    }
                    else
                    {
                        extras = true;
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private enum Generated
    {
        None,
        Refusal,
        Reasoning,
        Calls,
    }

    // Message fields whose values the model generated, outside content: a refusal, reasoning (OpenAI-compatible servers
    // name it reasoning_content, reasoning or reasoning_details, as text or parts), and tool or function calls.
    private static Generated GeneratedBy(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("refusal"u8) ? Generated.Refusal
        : reader.ValueTextEquals("reasoning_content"u8) || reader.ValueTextEquals("reasoning"u8) || reader.ValueTextEquals("reasoning_details"u8)
            ? Generated.Reasoning
            : reader.ValueTextEquals("tool_calls"u8) || reader.ValueTextEquals("function_call"u8)
                ? Generated.Calls
                : Generated.None;
}
