using System.Buffers;
using System.Text.Json;
using Router.Core.Execution;

namespace Router.Core.Caching;

/// <summary>Renders a cached answer as a chat completion, or as the server-sent events of one, in OpenAI's format.</summary>
internal static class CachedCompletion
{
    public static ReadOnlyMemory<byte> Json(string requestId, long created, string model, CachedAnswer answer, TokenUsage usage)
    {
        // Sized for the usual answer up front (the writer escapes non-ASCII, up to 6 bytes a character, and grows the
        // buffer when that is not enough), so one array is written once and handed out without a copy.
        var buffer = new ArrayBufferWriter<byte>(384 + requestId.Length + model.Length + (2 * answer.Content.Length));
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            Header(writer, requestId, created, model, "chat.completion");
            writer.WriteStartArray("choices");
            writer.WriteStartObject();
            writer.WriteNumber("index", 0);
            writer.WriteStartObject("message");
            writer.WriteString("role", "assistant");
            writer.WriteString("content", answer.Content);
            writer.WriteEndObject();
            writer.WriteString("finish_reason", answer.FinishReason);
            writer.WriteEndObject();
            writer.WriteEndArray();
            Usage(writer, usage);
            writer.WriteEndObject();
        }

        return buffer.WrittenMemory;
    }

    public static IEnumerable<byte[]> Events(string requestId, long created, string model, CachedAnswer answer, TokenUsage usage, bool includeUsage)
    {
        yield return Chunk(requestId, created, model, writer => writer.WriteString("role", "assistant"), null);
        foreach (var piece in Pieces(answer.Content))
        {
            yield return Chunk(requestId, created, model, writer => writer.WriteString("content", piece), null);
        }

        yield return Chunk(requestId, created, model, _ => { }, answer.FinishReason);
        if (includeUsage)
        {
            yield return Event(writer =>
            {
                writer.WriteStartObject();
                Header(writer, requestId, created, model, "chat.completion.chunk");
                writer.WriteStartArray("choices");
                writer.WriteEndArray();
                Usage(writer, usage);
                writer.WriteEndObject();
            });
        }

        yield return "data: [DONE]\n\n"u8.ToArray();
    }

    // A cached answer is replayed in a few chunks, at word boundaries, as a stream would deliver it.
    private static IEnumerable<string> Pieces(string content)
    {
        const int Size = 64;
        var start = 0;
        while (start < content.Length)
        {
            var end = Math.Min(content.Length, start + Size);
            if (end < content.Length)
            {
                var space = content.LastIndexOf(' ', end - 1, end - start);
                end = space > start ? space : end;
            }

            yield return content[start..end];
            start = end;
        }
    }

    private static byte[] Chunk(string requestId, long created, string model, Action<Utf8JsonWriter> delta, string? finish) => Event(writer =>
    {
        writer.WriteStartObject();
        Header(writer, requestId, created, model, "chat.completion.chunk");
        writer.WriteStartArray("choices");
        writer.WriteStartObject();
        writer.WriteNumber("index", 0);
        writer.WriteStartObject("delta");
        delta(writer);
        writer.WriteEndObject();
        if (finish is null)
        {
            writer.WriteNull("finish_reason");
        }
        else
        {
            writer.WriteString("finish_reason", finish);
        }

        writer.WriteEndObject();
        writer.WriteEndArray();
        writer.WriteEndObject();
    });

    private static byte[] Event(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        buffer.Write("data: "u8);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        buffer.Write("\n\n"u8);
        return buffer.ToArray();
    }

    private static void Header(Utf8JsonWriter writer, string requestId, long created, string model, string kind)
    {
        writer.WriteString("id", "chatcmpl-cache-" + requestId);
        writer.WriteString("object", kind);
        writer.WriteNumber("created", created);
        writer.WriteString("model", model);
        writer.WriteString("system_fingerprint", "router-cache");
    }

    private static void Usage(Utf8JsonWriter writer, TokenUsage usage)
    {
        writer.WriteStartObject("usage");
        writer.WriteNumber("prompt_tokens", usage.PromptTokens);
        writer.WriteNumber("completion_tokens", usage.CompletionTokens);
        writer.WriteNumber("total_tokens", usage.PromptTokens + usage.CompletionTokens);
        writer.WriteEndObject();
    }
}
