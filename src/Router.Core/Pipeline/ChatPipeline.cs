using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Router.Core.Analysis;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Execution;
using Router.Core.Metering;
using Router.Core.Routing;

namespace Router.Core.Pipeline;

/// <summary>A request analysed and routed, ready to execute or to explain.</summary>
/// <param name="Profile">The analysis.</param>
/// <param name="Decision">The routing decision.</param>
/// <param name="Policy">The tenant's policy.</param>
public sealed record PreparedRequest(RequestProfile Profile, RoutingDecision Decision, TenantPolicy Policy);

/// <summary>Serves one chat completion through the stages of the architecture: analyse, route, execute, respond.</summary>
public sealed partial class ChatPipeline(
    ModelCatalog catalog,
    IRequestAnalyzer analyzer,
    RequestRouter router,
    ChatExecutor executor,
    ITenantPolicyStore policies,
    ILogger<ChatPipeline> logger)
{
    /// <summary>How to configure a provider, quoted when none is configured.</summary>
    public const string ConfigureProviderHint =
        "No model provider is configured. Point the router at an OpenAI-compatible provider with environment variables, e.g. "
        + "Router__Providers__openai__ApiKey=sk-... (the default catalog then offers OpenAI's models), or "
        + "Router__Providers__sim__Endpoint=http://127.0.0.1:9100/v1 Router__Models__sim-small__Provider=sim Router__Models__sim-small__Tier=Economy "
        + "(see the README section: Point it at real providers).";

    /// <summary>Analyses and routes a request without calling a model; returns false with the error to send.</summary>
    public async Task<(PreparedRequest? Prepared, RouterError? Error)> PrepareAsync(RequestContext context, ChatRequest request, CancellationToken cancellationToken)
    {
        if (catalog.IsEmpty)
        {
            return (null, RouterError.NoHealthyModel(ConfigureProviderHint, TimeSpan.FromSeconds(30)));
        }

        if (!ModelRequest.TryResolve(catalog, request.Model, out var modelRequest, out var error))
        {
            return (null, error);
        }

        var profile = await analyzer.AnalyzeAsync(ToAnalysisRequest(request), cancellationToken);
        var policy = await policies.GetAsync(context.TenantId, cancellationToken);
        if (!router.TryDecide(new RuleInput(profile, context, request), modelRequest, policy, out var decision, out error))
        {
            return (null, error);
        }

        return (new PreparedRequest(profile, decision, policy), null);
    }

    /// <summary>Runs the request and writes the answer (or an OpenAI-style error) to <paramref name="sink"/>.</summary>
    public async Task HandleAsync(RequestContext context, ChatRequest request, IResponseSink sink, CancellationToken cancellationToken)
    {
        var (prepared, error) = await PrepareAsync(context, request, cancellationToken);
        if (prepared is null)
        {
            await WriteErrorAsync(sink, error!, cancellationToken);
            return;
        }

        var (profile, decision, _) = prepared;
        sink.SetHeader(RouterHeaders.Task, profile.Task.Type.ToWireName());
        sink.SetHeader(RouterHeaders.Complexity, (profile.Complexity ?? 5).ToString(CultureInfo.InvariantCulture));
        sink.SetHeader(RouterHeaders.Risk, profile.Risk.Level.ToWireName());
        sink.SetHeader(RouterHeaders.Cache, "miss");

        await using var result = await executor.ExecuteAsync(context.RequestId, request, decision.Candidates, cancellationToken);
        sink.SetHeader(RouterHeaders.Fallbacks, result.Fallbacks.ToString(CultureInfo.InvariantCulture));
        if (result.Error is { } failure)
        {
            await WriteErrorAsync(sink, failure, cancellationToken);
            return;
        }

        var model = result.Model!;
        var response = result.Response!;
        sink.SetHeader(RouterHeaders.Model, model.Id);
        sink.SetHeader(RouterHeaders.Tier, model.Tier.ToWire());

        if (!response.IsSuccess)
        {
            await sink.WriteJsonAsync(response.StatusCode, await ReadAllAsync(response.Content, cancellationToken), cancellationToken);
            return;
        }

        if (!request.Stream)
        {
            var body = await ReadAllAsync(response.Content, cancellationToken);
            var usage = CompletionReader.TryRead(body.Span, out var summary) ? summary.Usage : null;
            var tokens = usage ?? new TokenUsage(profile.PromptTokens, 0);
            SetCostHeaders(sink, model, tokens);
            await sink.WriteJsonAsync(200, body, cancellationToken);
            return;
        }

        // Stream headers go out before usage is known: the cost headers are the estimate, and the exact cost follows
        // as an SSE comment just before [DONE].
        SetCostHeaders(sink, model, new TokenUsage(profile.PromptTokens, profile.ExpectedOutputTokens));
        await sink.StartEventStreamAsync(cancellationToken);
        var relay = await SseRelay.RelayAsync(
            result.Events!,
            sink,
            request.IncludeUsage == true,
            r => CostComment(model, r.Usage ?? new TokenUsage(profile.PromptTokens, 0)),
            cancellationToken);
        if (relay.End != StreamEnd.Done)
        {
            Log.StreamBroken(logger, context.RequestId, model.Id, relay.End.ToString(), relay.EventsForwarded);
            var message = relay.End == StreamEnd.Cut
                ? $"The provider's stream from {model.Id} ended before it was complete."
                : $"The provider's stream from {model.Id} stalled.";
            await sink.WriteEventAsync(SseRelay.ErrorEvent("stream_interrupted", message), cancellationToken);
        }
    }

    internal static AnalysisRequest ToAnalysisRequest(ChatRequest request)
    {
        var messages = new AnalysisMessage[request.Messages.Count];
        for (var i = 0; i < messages.Length; i++)
        {
            var m = request.Messages[i];
            messages[i] = new AnalysisMessage(m.Role, m.Text, m.ImageCount > 0);
        }

        return new AnalysisRequest(messages, request.HasTools, request.ResponseFormatType, request.MaxTokens);
    }

    private void SetCostHeaders(IResponseSink sink, CatalogModel model, TokenUsage usage)
    {
        var cost = model.Cost(usage.PromptTokens, usage.CompletionTokens, usage.CachedPromptTokens);
        var baseline = catalog.Baseline?.Cost(usage.PromptTokens, usage.CompletionTokens) ?? cost;
        sink.SetHeader(RouterHeaders.CostUsd, FormatUsd(cost));
        sink.SetHeader(RouterHeaders.SavingsUsd, FormatUsd(baseline - cost));
    }

    private ReadOnlyMemory<byte> CostComment(CatalogModel model, TokenUsage usage)
    {
        var cost = model.Cost(usage.PromptTokens, usage.CompletionTokens, usage.CachedPromptTokens);
        var baseline = catalog.Baseline?.Cost(usage.PromptTokens, usage.CompletionTokens) ?? cost;
        return Encoding.UTF8.GetBytes($": {RouterHeaders.CostUsd}={FormatUsd(cost)} {RouterHeaders.SavingsUsd}={FormatUsd(baseline - cost)}\n\n");
    }

    /// <summary>USD with up to 8 decimals, invariant culture.</summary>
    public static string FormatUsd(decimal value) => value.ToString("0.########", CultureInfo.InvariantCulture);

    private static async Task<ReadOnlyMemory<byte>> ReadAllAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var memory = buffer.GetMemory(4096);
            var read = await stream.ReadAsync(memory, cancellationToken);
            if (read == 0)
            {
                return buffer.WrittenMemory;
            }

            buffer.Advance(read);
        }
    }

    private static Task WriteErrorAsync(IResponseSink sink, RouterError error, CancellationToken cancellationToken)
    {
        if (error.RetryAfter is { } retryAfter)
        {
            sink.SetHeader("Retry-After", Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture));
        }

        return sink.WriteJsonAsync(error.Status, ErrorEnvelope.Serialize(error), cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Request {RequestId}: stream from {Model} ended with {End} after {Events} events")]
        public static partial void StreamBroken(ILogger logger, string requestId, string model, string end, int events);
    }
}
