using System.Globalization;

namespace Router.Core.Chat;

/// <summary>An expected failure, rendered once, at the edge, as an OpenAI-style error body with <see cref="Status"/>.</summary>
/// <param name="Status">HTTP status.</param>
/// <param name="Type">OpenAI error <c>type</c>.</param>
/// <param name="Code">Machine-readable <c>code</c>.</param>
/// <param name="Message">Human-readable message; never contains secrets, prompts or stack traces.</param>
/// <param name="Param">The offending request field, if any.</param>
/// <param name="RetryAfter">Sent as <c>Retry-After</c> when set.</param>
public sealed record RouterError(int Status, string Type, string? Code, string Message, string? Param = null, TimeSpan? RetryAfter = null)
{
    /// <summary>Whether sending the same request again cannot help (a loop refused, a budget spent, a rule that denies):
    /// sent as <c>x-should-retry: false</c>, which OpenAI's SDKs obey instead of retrying a 429 after its Retry-After.</summary>
    public bool RetryIsFutile => Code is "loop_detected" or "denied_by_rule" || (Code == "budget_exceeded" && RetryAfter is null);

    /// <summary>A refusal that a later retry will likely pass although its status is one OpenAI's SDKs never retry (a 402
    /// while the budget is only reserved by requests in flight): sent as <c>x-should-retry: true</c>.</summary>
    public bool RetryWillHelp => Code == "budget_exceeded" && RetryAfter is not null;

    /// <summary>400: the body or a field is invalid.</summary>
    public static RouterError InvalidRequest(string message, string? param = null, string? code = null) =>
        new(400, "invalid_request_error", code, message, param);

    /// <summary>400 <c>invalid_json</c>: the body is not UTF-8, which JSON text must be (RFC 8259).</summary>
    public static RouterError NotUtf8() => InvalidRequest("The request body is not valid UTF-8.", code: "invalid_json");

    /// <summary>400 <c>invalid_json</c>: a string holds an unpaired surrogate escape (<c>"\ud800"</c>), which no text decodes to.</summary>
    public static RouterError UnpairedSurrogate() => InvalidRequest(
        "The request body has a string that is not valid Unicode: an unpaired surrogate escape (\\uD800-\\uDFFF).", code: "invalid_json");

    /// <summary>401: missing, unknown, revoked or expired key (always the same message).</summary>
    public static RouterError InvalidApiKey() =>
        new(401, "invalid_request_error", "invalid_api_key",
            "Incorrect or missing API key. Send it as 'Authorization: Bearer <key>' or 'api-key: <key>'.");

    /// <summary>404: no such route or resource.</summary>
    public static RouterError NotFound(string message) => new(404, "invalid_request_error", "not_found", message);

    /// <summary>405: the path exists but not for this method.</summary>
    public static RouterError MethodNotAllowed(string method, string path) =>
        new(405, "invalid_request_error", "method_not_allowed", $"{method} is not supported on {path}.");

    /// <summary>413: the body is larger than the limit, the one <paramref name="setting"/> configures unless it is null.</summary>
    public static RouterError RequestTooLarge(long limitBytes, string? setting = "Router:MaxRequestBodyBytes") =>
        new(413, "invalid_request_error", "request_too_large", setting is null
            ? $"The request body exceeds the limit of {limitBytes} bytes."
            : $"The request body exceeds the limit of {limitBytes} bytes (setting {setting}).");

    /// <summary>408: the body arrived slower than the server's minimum data rate and reading it was given up.</summary>
    public static RouterError RequestBodyTimeout(double? minimumBytesPerSecond) =>
        new(408, "invalid_request_error", "request_timeout", minimumBytesPerSecond is { } rate
            ? string.Create(CultureInfo.InvariantCulture, $"The request body arrived too slowly: under the minimum of {rate:0.##} bytes a second, so reading it timed out.")
            : "The request body arrived too slowly, so reading it timed out.");

    /// <summary>414: the request line (method, path and query, version) is longer than the server accepts.</summary>
    public static RouterError RequestLineTooLong(int bytes, int limitBytes, string setting) =>
        new(414, "invalid_request_error", "uri_too_long",
            $"The request line is {bytes} bytes, over the limit of {limitBytes} bytes (setting {setting}); send long input in the body.");

    /// <summary>431: the request headers are larger in total than the server accepts; names the largest, never a value.</summary>
    public static RouterError RequestHeadersTooLarge(long bytes, int limitBytes, string setting, string largest, long largestBytes) =>
        new(431, "invalid_request_error", "request_headers_too_large",
            $"The request headers total {bytes} bytes, over the limit of {limitBytes} bytes (setting {setting}); the largest is '{largest}' ({largestBytes} bytes).");

    /// <summary>431: the request has more header lines than the server accepts.</summary>
    public static RouterError TooManyRequestHeaders(int count, int limit, string setting) =>
        new(431, "invalid_request_error", "request_headers_too_large",
            $"The request has {count} headers, over the limit of {limit} headers (setting {setting}).");

    /// <summary>415: the body is not JSON.</summary>
    public static RouterError UnsupportedMediaType(string? contentType) =>
        new(415, "invalid_request_error", "unsupported_media_type",
            $"Expected 'Content-Type: application/json', got '{contentType}'.");

    /// <summary>503: no model can take the request now.</summary>
    public static RouterError NoHealthyModel(string message, TimeSpan retryAfter) =>
        new(503, "service_unavailable", "no_healthy_model", message, RetryAfter: retryAfter);

    /// <summary>502: every candidate failed or answered with an error.</summary>
    public static RouterError UpstreamFailed(string message) => new(502, "upstream_error", "upstream_failed", message);

    /// <summary>504: every candidate timed out.</summary>
    public static RouterError UpstreamTimeout(string message) => new(504, "upstream_error", "upstream_timeout", message);

    /// <summary>500: a bug; the message says only that, with the request id.</summary>
    public static RouterError Internal(string requestId) =>
        new(500, "server_error", "internal_error", $"The router failed unexpectedly. Quote request id {requestId} when reporting it.");
}
