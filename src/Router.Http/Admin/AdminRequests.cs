using System.Text.Json;
using System.Text.Unicode;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Router.Core.Chat;
using Router.Http.Auth;
using Router.Http.Chat;
using Router.Http.Errors;

namespace Router.Http.Admin;

/// <summary>What every admin endpoint does first and last: the admin key, a bounded JSON body, a JSON answer.</summary>
internal static class AdminRequests
{
    private const int MaxAdminBodyBytes = 256 * 1024;

    public static async Task<bool> AuthorizeAsync(HttpContext context, CallerAuthentication authentication, TimeProvider time)
    {
        RouterHttpContext.Begin(context, time);
        if (authentication.IsAdmin(context))
        {
            return true;
        }

        await ErrorResponse.WriteAsync(context, RouterError.InvalidApiKey());
        return false;
    }

    public static async Task<JsonDocument?> ReadJsonAsync(HttpContext context)
    {
        var (document, error) = await TryReadJsonAsync(context);
        if (error is not null)
        {
            await ErrorResponse.WriteAsync(context, error);
        }

        return document;
    }

    // The body as a JSON object or array, or the error it earns, not yet written: a change to a tenant answers 404 for
    // an unknown tenant before it says anything about the body.
    public static async Task<(JsonDocument? Document, RouterError? Error)> TryReadJsonAsync(HttpContext context)
    {
        var (body, error) = await RequestBody.ReadAsync(context.Request, MaxAdminBodyBytes, setting: null, context.RequestAborted);
        if (error is not null)
        {
            return (null, error);
        }

        using (body)
        {
            try
            {
                // A document parsed from memory keeps reading that memory for its lifetime, and the pooled body goes
                // back to the pool when this method returns: the document gets its own copy (admin bodies are small).
                if (!Utf8.IsValid(body!.Memory.Span))
                {
                    return (null, RouterError.NotUtf8());
                }

                var document = JsonDocument.Parse(body.Memory.IsEmpty ? "{}"u8.ToArray() : body.Memory.ToArray());
                if (!StringsDecode(document.RootElement))
                {
                    document.Dispose();
                    return (null, RouterError.UnpairedSurrogate());
                }

                if (document.RootElement.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
                {
                    return (document, null);
                }

                document.Dispose();
                return (null, RouterError.InvalidRequest("The request body must be a JSON object.", code: "invalid_type"));
            }
            catch (JsonException ex)
            {
                return (null, RouterError.InvalidRequest($"The request body is not valid JSON: {ex.Message}", code: "invalid_json"));
            }
        }
    }

    // The handlers read names and strings with GetString, which throws on an unpaired surrogate escape ("\ud800"):
    // an admin body is small, so every string is decoded once up front instead.
    private static bool StringsDecode(JsonElement element)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    _ = element.GetString();
                    return true;
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        if (property.Name is null || !StringsDecode(property.Value))
                        {
                            return false;
                        }
                    }

                    return true;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        if (!StringsDecode(item))
                        {
                            return false;
                        }
                    }

                    return true;
                default:
                    return true;
            }
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    public static Task WriteAsync<T>(HttpContext context, int status, T value, JsonTypeInfo<T> type)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted);
    }

    /// <summary>The 400 <c>invalid_value</c> for a list of field errors: all of them in the message, the first field named
    /// as <c>param</c> (every message starts with the field's name in quotes).</summary>
    public static RouterError FieldErrors(IReadOnlyList<string> errors)
    {
        var first = errors[0];
        var end = first.StartsWith('\'') ? first.IndexOf('\'', 1) : -1;
        return RouterError.InvalidRequest(string.Join(" ", errors), end > 1 ? first[1..end] : null, "invalid_value");
    }

    /// <summary>Reads optional typed fields from an object, collecting every type error.</summary>
    public sealed class FieldReader(JsonElement root, List<string> errors)
    {
        public HashSet<string> Known { get; } = new(StringComparer.Ordinal);

        public bool? Bool(string name)
        {
            Known.Add(name);
            if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                return value.GetBoolean();
            }

            errors.Add($"'{name}' must be true or false.");
            return null;
        }

        public string? String(string name)
        {
            Known.Add(name);
            if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (value.ValueKind == JsonValueKind.String)
            {
                return value.GetString();
            }

            errors.Add($"'{name}' must be a string.");
            return null;
        }

        public decimal? Decimal(string name)
        {
            Known.Add(name);
            if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var number))
            {
                return number;
            }

            errors.Add($"'{name}' must be a number.");
            return null;
        }

        public int? Int(string name)
        {
            Known.Add(name);
            if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number))
            {
                return number;
            }

            errors.Add($"'{name}' must be an integer.");
            return null;
        }

        public double? Double(string name) => (double?)Decimal(name);

        public DateTimeOffset? Date(string name)
        {
            var text = String(name);
            if (text is null)
            {
                return null;
            }

            if (DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var date))
            {
                return date;
            }

            errors.Add($"'{name}' must be an ISO 8601 date or time.");
            return null;
        }

        public void RejectUnknown()
        {
            foreach (var property in root.ValueKind == JsonValueKind.Object ? root.EnumerateObject() : default)
            {
                if (!Known.Contains(property.Name))
                {
                    errors.Add($"'{property.Name}' is not a known field (expected {string.Join(", ", Known)}).");
                }
            }
        }
    }
}
