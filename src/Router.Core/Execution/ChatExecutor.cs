using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Telemetry;

namespace Router.Core.Execution;

/// <summary>One attempt and how it ended, for error messages and usage.</summary>
/// <param name="Model">The model tried.</param>
/// <param name="Outcome">What happened, e.g. <c>HTTP 500</c>, <c>connection reset</c>, <c>skipped: circuit open</c>.</param>
/// <param name="Called">Whether a request was actually sent.</param>
public sealed record AttemptRecord(string Model, string Outcome, bool Called);

/// <summary>The answer the executor settled on, or the error to send.</summary>
public sealed class ExecutionResult : IAsyncDisposable
{
    /// <summary>The response to relay (a success, or a provider's client error passed through).</summary>
    public UpstreamResponse? Response { get; init; }

    /// <summary>The model that answered.</summary>
    public CatalogModel? Model { get; init; }

    /// <summary>For a non-streaming request: the whole body of <see cref="Response"/>, read and checked within the attempt.</summary>
    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>For a successful non-streaming request: <see cref="Body"/> as <see cref="CompletionReader"/> read it when
    /// the attempt checked it, so the body is read once.</summary>
    public CompletionSummary Summary { get; init; }

    /// <summary>For streams: the reader positioned before the first event to relay (chunks without a choice that came
    /// before the first choice included).</summary>
    public SseEventReader? Events { get; init; }

    /// <summary>The error when no candidate answered.</summary>
    public RouterError? Error { get; init; }

    /// <summary>Every attempt and skip, in order.</summary>
    public required IReadOnlyList<AttemptRecord> Attempts { get; init; }

    /// <summary>Failed calls before the answer.</summary>
    public int Fallbacks => Attempts.Count(a => a.Called) - (Response is null ? 0 : 1);

    /// <summary>Upstream calls made.</summary>
    public int UpstreamCalls => Attempts.Count(a => a.Called);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Events?.Dispose();
        if (Response is not null)
        {
            await Response.DisposeAsync();
        }
    }
}

/// <summary>Calls the decision's candidates in order with at most <see cref="ExecutionOptions.MaxAttempts"/> upstream
/// attempts, skipping unhealthy deployments, honouring retry hints and failing streams over only before their first
/// event. No hedging and no retries inside provider clients.</summary>
public sealed partial class ChatExecutor(
    IModelClient client,
    DeploymentHealthRegistry health,
    IOptions<ExecutionOptions> options,
    TimeProvider time,
    ILogger<ChatExecutor> logger)
{
    /// <summary>Runs the attempts; the caller disposes the result.</summary>
    public async Task<ExecutionResult> ExecuteAsync(
        string requestId, ChatRequest request, IReadOnlyList<CatalogModel> candidates, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var attempts = new List<AttemptRecord>(candidates.Count);
        var soonest = TimeSpan.MaxValue;
        TimeSpan? providerRetryAfter = null;   // the soonest Retry-After a provider sent with a 429 or 503
        var allTimeouts = true;

        // The request's budget and each attempt's timer run on the pipeline's clock, and the caller's token (for an
        // attempt, the request's) cancels them too, as a linked source would: one source, its timer and one registration.
        using var total = new CancellationTokenSource(settings.TotalTimeout, time);
        using var totalByCaller = cancellationToken.UnsafeRegister(CancelSource, total);

        foreach (var model in candidates)
        {
            if (attempts.Count(a => a.Called) >= settings.MaxAttempts)
            {
                break;
            }

            var lease = health.TryAcquire(model.Id);
            if (!lease.Allowed)
            {
                attempts.Add(new AttemptRecord(model.Id, "skipped: " + lease.Reason, false));
                soonest = lease.AvailableIn < soonest ? lease.AvailableIn : soonest;
                continue;
            }

            var body = UpstreamBodyWriter.Write(request, model.UpstreamModel);
            using var attemptActivity = RouterTelemetry.Source.StartActivity("router.upstream", System.Diagnostics.ActivityKind.Client);
            attemptActivity?.SetTag("router.model", model.Id);
            attemptActivity?.SetTag("router.provider", model.Provider.Name);

            // One timer per attempt bounds the wait for the response headers and, re-armed, the read of the body.
            using var attempt = new CancellationTokenSource(settings.AttemptTimeout, time);
            using var attemptByTotal = total.Token.UnsafeRegister(CancelSource, attempt);
            UpstreamResponse response;
            try
            {
                response = await client.SendAsync(new UpstreamRequest(model, body, request.Stream, requestId), attempt.Token);
            }
            catch (OperationCanceledException)
            {
                if (cancellationToken.IsCancellationRequested || total.IsCancellationRequested)
                {
                    health.Release(model.Id, lease);
                    if (cancellationToken.IsCancellationRequested)
                    {
                        throw;
                    }

                    attempts.Add(new AttemptRecord(model.Id, "total timeout", true));
                    break;
                }

                // Only this attempt's time ran out: the deployment did not answer, and the next candidate may.
                var outcome = Describe(UpstreamFailure.Timeout, string.Create(CultureInfo.InvariantCulture, $"no response within {settings.AttemptTimeout.TotalSeconds:0.###} s"));
                health.Report(model.Id, lease, success: false);
                attempts.Add(new AttemptRecord(model.Id, outcome, true));
                Log.AttemptFailed(logger, requestId, model.Id, outcome);
                continue;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A provider client that throws (a credential it cannot obtain, say) fails this attempt, not the request:
                // the breaker hears of it and the next candidate is tried.
                allTimeouts = false;
                health.Report(model.Id, lease, success: false);
                attempts.Add(new AttemptRecord(model.Id, "error: " + ex.GetType().Name, true));
                Log.AttemptFailed(logger, requestId, model.Id, ex.GetType().Name);
                continue;
            }

            if (response.Failure != UpstreamFailure.None)
            {
                allTimeouts &= response.Failure == UpstreamFailure.Timeout;
                await FailAsync(model, lease, response, Describe(response.Failure, response.FailureDetail), null);
                continue;
            }

            var status = response.StatusCode;
            if (status is 401 or 402 or 403 or 404)
            {
                // The deployment is misconfigured (its key, its quota or billing, its name): that says nothing about the
                // client's request, and another candidate may well answer it.
                allTimeouts = false;
                await FailAsync(model, lease, response, "HTTP " + status.ToString(CultureInfo.InvariantCulture), null);
                continue;
            }

            if (status is >= 400 and < 500 and not 408 and not 429)
            {
                // The provider rejected the request itself (context too long, a bad parameter): another model would too,
                // and the client needs the reason.
                var (rejected, _) = await ReadBodyAsync(response, attempt, total.Token);
                health.Report(model.Id, lease, success: true);
                attempts.Add(new AttemptRecord(model.Id, "HTTP " + status.ToString(CultureInfo.InvariantCulture), true));
                return new ExecutionResult { Response = response, Model = model, Attempts = attempts, Body = rejected };
            }

            if (!response.IsSuccess)
            {
                allTimeouts &= status == 408;
                var coolDown = response.RetryAfter ?? (status is 429 or 503 ? settings.DefaultCoolDown : null);
                if (response.RetryAfter is { } hint && (providerRetryAfter is null || hint < providerRetryAfter))
                {
                    providerRetryAfter = hint;
                }

                await FailAsync(model, lease, response, "HTTP " + status.ToString(CultureInfo.InvariantCulture), coolDown);
                continue;
            }

            if (!request.Stream)
            {
                // Nothing has reached the client yet: a body that stalls, breaks off or is no completion fails this
                // attempt over like a failed status would.
                var (answer, problem) = await ReadBodyAsync(response, attempt, total.Token);
                var summary = default(CompletionSummary);
                problem ??= CompletionReader.IsErrorPayload(answer.Span) ? "an error body with HTTP " + status.ToString(CultureInfo.InvariantCulture)
                    : !CompletionReader.TryRead(answer.Span, out summary) || summary.ChoiceCount == 0 ? "not a chat completion"
                    : null;
                if (problem is not null)
                {
                    if (total.IsCancellationRequested)
                    {
                        // The client left, or the whole request ran out of time: neither says anything about this deployment.
                        health.Release(model.Id, lease);
                        await response.DisposeAsync();
                        cancellationToken.ThrowIfCancellationRequested();
                        attempts.Add(new AttemptRecord(model.Id, "total timeout", true));
                        break;
                    }

                    allTimeouts &= problem.StartsWith("timeout", StringComparison.Ordinal);
                    await FailAsync(model, lease, response, problem, null);
                    continue;
                }

                health.Report(model.Id, lease, success: true);
                attempts.Add(new AttemptRecord(model.Id, "ok", true));
                return new ExecutionResult { Response = response, Model = model, Attempts = attempts, Body = answer, Summary = summary };
            }

            // A stream is committed to the client only once its first choice has arrived; before that it can fail over.
            var events = new SseEventReader(response.Content, settings.StreamIdleTimeout, time, settings.MaxResponseBytes);
            var read = SseReadStatus.Ended;
            var opening = SseEventKind.NoData;
            try
            {
                // Keep-alive comments carry nothing and are dropped; chunks without a choice (Azure OpenAI's prompt filter
                // results) are held back, to be relayed once a choice follows.
                while ((read = await events.WaitForEventAsync(total.Token)) == SseReadStatus.Event)
                {
                    opening = SseRelay.Classify(events.PeekEvent().Span);
                    if (opening == SseEventKind.NoData)
                    {
                        events.SkipEvent();
                    }
                    else if (opening == SseEventKind.NoChoice)
                    {
                        events.HoldEvent();
                    }
                    else
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                events.Dispose();
                await response.DisposeAsync();
                health.Release(model.Id, lease);
                if (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }

                attempts.Add(new AttemptRecord(model.Id, "total timeout", true));
                break;
            }

            // Nothing of an answer has reached the client: an error, a [DONE] with no choice before it (an empty answer,
            // which fails over unstreamed too) or data that is no chunk (a proxy's plain-text error) fails this attempt.
            var broken = read == SseReadStatus.EventTooLarge ? TooLarge("stream event", settings.MaxResponseBytes)
                : read != SseReadStatus.Event ? "stream ended before its first choice"
                : opening switch
                {
                    SseEventKind.Choice => null,
                    SseEventKind.Error => "stream began with an error event",
                    SseEventKind.Done => "stream ended without a choice",
                    _ => "stream began with data that is no chat completion chunk",
                };
            if (broken is not null)
            {
                events.Dispose();
                allTimeouts &= read == SseReadStatus.IdleTimeout;
                await FailAsync(model, lease, response, broken, null);
                continue;
            }

            health.Report(model.Id, lease, success: true);
            attempts.Add(new AttemptRecord(model.Id, "ok", true));
            return new ExecutionResult { Response = response, Model = model, Events = events, Attempts = attempts };
        }

        var tried = string.Join("; ", attempts.Select(a => $"{a.Model} ({a.Outcome})"));
        if (!attempts.Any(a => a.Called))
        {
            var retryAfter = soonest == TimeSpan.MaxValue ? settings.BreakerBreakDuration : soonest;
            return new ExecutionResult
            {
                Attempts = attempts,
                Error = RouterError.NoHealthyModel($"No healthy model can take this request now: {tried}.", retryAfter),
            };
        }

        var message = $"Every candidate failed. Tried: {tried}.";
        return new ExecutionResult
        {
            Attempts = attempts,
            // When the providers said when to come back, the client hears it too.
            Error = (allTimeouts ? RouterError.UpstreamTimeout(message) : RouterError.UpstreamFailed(message)) with { RetryAfter = providerRetryAfter },
        };

        async Task FailAsync(CatalogModel model, HealthLease lease, UpstreamResponse response, string outcome, TimeSpan? coolDown)
        {
            health.Report(model.Id, lease, success: false, coolDown);
            attempts.Add(new AttemptRecord(model.Id, outcome, true));
            Log.AttemptFailed(logger, requestId, model.Id, outcome);
            await response.DisposeAsync();
        }
    }

    /// <summary>Reads a whole body within one attempt's time (the attempt's timer re-armed, so the headers' wait does not
    /// count against it); the problem, if any, says why it could not.</summary>
    private async Task<(ReadOnlyMemory<byte> Body, string? Problem)> ReadBodyAsync(UpstreamResponse response, CancellationTokenSource attempt, CancellationToken total)
    {
        var timeout = options.Value.AttemptTimeout;

        // The headers came in time, but the timer may have fired since, and a cancelled source cannot be re-armed: the
        // body then gets a timer of its own, rather than failing a deployment that answered in time.
        using var late = attempt.IsCancellationRequested && !total.IsCancellationRequested ? new CancellationTokenSource(timeout, time) : null;
        using var lateByTotal = late is null ? default : total.UnsafeRegister(CancelSource, late);
        if (late is null)
        {
            // The source was made on the pipeline's clock, so re-arming it keeps the body's timer there too.
            attempt.CancelAfter(timeout);
        }

        var body = late ?? attempt;
        try
        {
            var limit = options.Value.MaxResponseBytes;
            return await UpstreamBody.ReadAllAsync(response.Content, limit, body.Token) is { } whole
                ? (whole, null)
                : (default, TooLarge("body", limit));
        }
        catch (OperationCanceledException)
        {
            return (default, $"timeout: body not complete within {timeout.TotalSeconds:0.###} s");
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            return (default, "connection reset while reading the body");
        }
    }

    private static void CancelSource(object? source) => ((CancellationTokenSource)source!).Cancel();

    private static string TooLarge(string what, int limit) =>
        string.Create(CultureInfo.InvariantCulture, $"{what} over {limit} bytes (Router:Execution:MaxResponseBytes)");

    private static string Describe(UpstreamFailure failure, string? detail) => failure switch
    {
        UpstreamFailure.Timeout => "timeout: " + detail,
        UpstreamFailure.Unreachable => "unreachable: " + detail,
        _ => "connection reset: " + detail,
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Request {RequestId}: attempt on {Model} failed ({Outcome})")]
        public static partial void AttemptFailed(ILogger logger, string requestId, string model, string outcome);
    }
}
