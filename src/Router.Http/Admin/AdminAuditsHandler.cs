using System.Text.Json.Serialization;
using Azure;
using Microsoft.AspNetCore.Http;
using Router.Core.Audits;
using Router.Core.Chat;
using Router.Http.Auth;
using Router.Http.Errors;

namespace Router.Http.Admin;

/// <summary><c>GET /admin/audits/poison</c> (how many audit jobs were given up, the oldest few by id and age) and
/// <c>POST /admin/audits/redrive</c> (put up to <c>max</c> of them back on the audit queue, unchanged).</summary>
public sealed class AdminAuditsHandler(CallerAuthentication authentication, IAuditPoisonQueue poison, TimeProvider time)
{
    /// <summary>Jobs a redrive moves when the body names no <c>max</c>.</summary>
    public const int DefaultRedrive = 100;

    /// <summary>The most one redrive moves: each job is two storage calls, and the answer has to come back within an
    /// HTTP timeout (the Functions front end gives up after 230 s); call again for more.</summary>
    public const int MaxRedrive = 1000;

    private const int Shown = 10;

    /// <summary>The poison queue's approximate size and its oldest jobs: ids and ages, never the conversation.</summary>
    public async Task InspectAsync(HttpContext context)
    {
        if (!await AdminRequests.AuthorizeAsync(context, authentication, time))
        {
            return;
        }

        AuditPoisonSummary summary;
        try
        {
            summary = await poison.InspectAsync(Shown, context.RequestAborted);
        }
        catch (RequestFailedException ex)
        {
            await ErrorResponse.WriteAsync(context, Unavailable(ex));
            return;
        }

        var now = time.GetUtcNow();
        var oldest = summary.Oldest
            .Select(m => new PoisonedAuditDocument(m.Id, m.RequestId, m.PoisonedAt, m.PoisonedAt is { } at ? Math.Max(0, (long)(now - at).TotalSeconds) : null))
            .ToList();
        await AdminRequests.WriteAsync(
            context, StatusCodes.Status200OK, new AuditPoisonDocument(summary.Queue, summary.Durable, summary.ApproximateCount, oldest), RouterHttpJsonContext.Default.AuditPoisonDocument);
    }

    /// <summary>Moves up to <c>max</c> (default 100, at most 1000) poisoned jobs back to the audit queue.</summary>
    public async Task RedriveAsync(HttpContext context)
    {
        if (!await AdminRequests.AuthorizeAsync(context, authentication, time) || await AdminRequests.ReadJsonAsync(context) is not { } json)
        {
            return;
        }

        int max;
        using (json)
        {
            if (json.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                await ErrorResponse.WriteAsync(context, RouterError.InvalidRequest("The request body must be a JSON object.", code: "invalid_type"));
                return;
            }

            var errors = new List<string>();
            var fields = new AdminRequests.FieldReader(json.RootElement, errors);
            max = fields.Int("max") ?? DefaultRedrive;
            fields.RejectUnknown();
            if (errors.Count == 0 && max is < 1 or > MaxRedrive)
            {
                errors.Add($"'max' must be between 1 and {MaxRedrive}.");
            }

            if (errors.Count > 0)
            {
                await ErrorResponse.WriteAsync(context, AdminRequests.FieldErrors(errors));
                return;
            }
        }

        AuditRedriveResult result;
        try
        {
            result = await poison.RedriveAsync(max, context.RequestAborted);
        }
        catch (RequestFailedException ex)
        {
            await ErrorResponse.WriteAsync(context, Unavailable(ex));
            return;
        }

        await AdminRequests.WriteAsync(
            context, StatusCodes.Status200OK, new AuditRedriveDocument(result.Redriven, result.Discarded, result.Remaining), RouterHttpJsonContext.Default.AuditRedriveDocument);
    }

    // A job not yet moved stays in the poison queue (one received already reappears when its lease ends), so the call can
    // simply be repeated.
    private static RouterError Unavailable(RequestFailedException ex) =>
        new(StatusCodes.Status503ServiceUnavailable, "server_error", "audit_queue_unavailable",
            $"The audit queues could not be reached ({ex.Status} {ex.ErrorCode}); jobs not yet redriven stay poisoned, so the call can be repeated.",
            RetryAfter: TimeSpan.FromSeconds(5));
}

/// <summary>The answer of <c>GET /admin/audits/poison</c>.</summary>
public sealed record AuditPoisonDocument(
    [property: JsonPropertyName("queue")] string Queue,
    [property: JsonPropertyName("durable")] bool Durable,
    [property: JsonPropertyName("approximate_count")] long ApproximateCount,
    [property: JsonPropertyName("oldest")] IReadOnlyList<PoisonedAuditDocument> Oldest);

/// <summary>One poisoned job: the queue's message id, the audited request, when it was poisoned and how long ago.</summary>
public sealed record PoisonedAuditDocument(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("request_id")] string? RequestId,
    [property: JsonPropertyName("poisoned_at")] DateTimeOffset? PoisonedAt,
    [property: JsonPropertyName("age_seconds")] long? AgeSeconds);

/// <summary>The answer of <c>POST /admin/audits/redrive</c>.</summary>
public sealed record AuditRedriveDocument(
    [property: JsonPropertyName("redriven")] int Redriven,
    [property: JsonPropertyName("discarded")] int Discarded,
    [property: JsonPropertyName("remaining")] long Remaining);
