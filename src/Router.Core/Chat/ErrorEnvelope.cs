using System.Text.Json;
using System.Text.Json.Serialization;

namespace Router.Core.Chat;

/// <summary>OpenAI's error body: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
/// <param name="Error">The error.</param>
public sealed record ErrorEnvelope([property: JsonPropertyName("error")] ErrorBody Error)
{
    /// <summary>The envelope for <paramref name="error"/>.</summary>
    public static ErrorEnvelope From(RouterError error) => new(new ErrorBody(error.Message, error.Type, error.Code, error.Param));

    /// <summary>UTF-8 JSON of <paramref name="error"/>.</summary>
    public static byte[] Serialize(RouterError error) =>
        JsonSerializer.SerializeToUtf8Bytes(From(error), RouterJsonContext.Default.ErrorEnvelope);
}

/// <summary>The inner error object.</summary>
/// <param name="Message">Human-readable message.</param>
/// <param name="Type">Error type.</param>
/// <param name="Code">Machine-readable code.</param>
/// <param name="Param">Offending field.</param>
public sealed record ErrorBody(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("code")] string? Code,
    [property: JsonPropertyName("param")] string? Param = null);
