using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Audits;
using Router.Core.Caching;
using Router.Core.Analysis;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Execution;
using Router.Core.Metering;
using Router.Core.Routing;
using Router.Core.Telemetry;

namespace Router.Core.Pipeline;

/// <summary>A request analysed and routed, ready to execute or to explain.</summary>
/// <param name="Profile">The analysis.</param>
/// <param name="Decision">The routing decision.</param>
/// <param name="Policy">The tenant's policy.</param>
/// <param name="Embedding">The prompt's sentence embedding (empty when embeddings are off).</param>
public sealed record PreparedRequest(RequestProfile Profile, RoutingDecision Decision, TenantPolicy Policy, ReadOnlyMemory<float> Embedding)
{
    /// <summary>The final user turn's embedding for the semantic cache: <see cref="Embedding"/> when analysis embedded that
    /// very text, else computed on first use (after an exact miss) and kept for the store.</summary>
    internal SemanticVector CacheVector { get; init; } = SemanticVector.None;

    /// <summary>The cache keys, computed by the lookup and reused by the store (null until the cache was read).</summary>
    internal CacheKeys? CacheKeys { get; set; }
}

/// <summary>A request's semantic-cache vector, computed at most once and only when the cache asks for it.</summary>
internal sealed class SemanticVector
{
    private readonly Func<CancellationToken, Task<ReadOnlyMemory<float>>>? _compute;
    private Task<ReadOnlyMemory<float>>? _vector;

    private SemanticVector(Task<ReadOnlyMemory<float>>? ready, Func<CancellationToken, Task<ReadOnlyMemory<float>>>? compute)
    {
        _vector = ready;
        _compute = compute;
    }

    /// <summary>No vector: the semantic cache is skipped.</summary>
    public static SemanticVector None { get; } = new(Task.FromResult(ReadOnlyMemory<float>.Empty), null);

    public static SemanticVector Ready(ReadOnlyMemory<float> vector) => new(Task.FromResult(vector), null);

    public static SemanticVector Lazy(Func<CancellationToken, Task<ReadOnlyMemory<float>>> compute) => new(null, compute);

    public Task<ReadOnlyMemory<float>> GetAsync(CancellationToken cancellationToken) => _vector ??= _compute!(cancellationToken);
}

/// <summary>Serves one chat completion through the stages of the architecture: analyse, route, admit, execute,
/// respond, record. Every request that reaches it is recorded exactly once, whatever happens on the way.</summary>
public sealed partial class ChatPipeline(
    ModelCatalog catalog,
    IRequestAnalyzer analyzer,
    AnalysisMemo memo,
    RequestRouter router,
    ChatExecutor executor,
    ITenantPolicyStore policies,
    Admission admission,
    IUsageLedger ledger,
    TokenCounter tokens,
    AuditSampler auditSampler,
    RouterTelemetry telemetry,
    RecentDecisions recent,
    ResponseCacheService cache,
    TimeProvider time,
    IAuditQueue audits,
    IOptions<AuditOptions> auditOptions,
    ILogger<ChatPipeline> logger,
    IEmbeddingGenerator<string, Embedding<float>>? embeddings = null)
{
    /// <summary>How to configure a provider, quoted when none is configured.</summary>
    public const string ConfigureProviderHint =
        "No model provider is configured. Point the router at an OpenAI-compatible provider with environment variables, e.g. "
        + "Router__Providers__openai__ApiKey=sk-... (the default catalog then offers OpenAI's models), or "
        + "env Router__Providers__sim__Endpoint=http://127.0.0.1:9100/v1 Router__Models__sim-small__Provider=sim Router__Models__sim-small__Tier=Economy "
        + "(see the README section: Point it at real providers).";

    /// <summary>Analyses and routes a request without calling a model (a dry run: no limit is asked).</summary>
    public Task<(PreparedRequest? Prepared, RouterError? Error)> PrepareAsync(RequestContext context, ChatRequest request, CancellationToken cancellationToken) =>
        PrepareAsync(context, request, policy: null, cancellationToken);

    /// <summary>Analyses and routes a request for a caller, as a chat request and <c>POST /v1/route</c> do: the caller's
    /// requests-per-minute limit is asked first, as for a chat request, so a key past it gets the 429 and costs no
    /// analysis, embedding or cache read.</summary>
    public async Task<(PreparedRequest? Prepared, RouterError? Error)> AdmitAndPrepareAsync(RequestContext context, ChatRequest request, CancellationToken cancellationToken)
    {
        var policy = await policies.GetAsync(context.TenantId, cancellationToken);
        if (admission.AdmitRequest(context, policy) is { } limited)
        {
            return (null, limited);
        }

        return await PrepareAsync(context, request, policy, cancellationToken);
    }

    private async Task<(PreparedRequest? Prepared, RouterError? Error)> PrepareAsync(RequestContext context, ChatRequest request, TenantPolicy? policy, CancellationToken cancellationToken)
    {
        if (catalog.IsEmpty)
        {
            return (null, RouterError.NoHealthyModel(ConfigureProviderHint, TimeSpan.FromSeconds(30)));
        }

        if (!ModelRequest.TryResolve(catalog, request.Model, out var modelRequest, out var error))
        {
            return (null, error);
        }

        var started = Stopwatch.GetTimestamp();
        var analysisRequest = ToAnalysisRequest(request);
        var memoKey = memo.Enabled ? AnalysisMemo.KeyOf(context.TenantId, analysisRequest) : default;

        // What analysis and the semantic cache embed, read in one pass; nothing without an embedding model.
        var texts = embeddings is null ? ("", "") : analyzer.GetEmbeddingTexts(analysisRequest);
        if (!memo.TryGet(memoKey, out var profile, out var embedding))
        {
            (embedding, var embeddingFailed) = await EmbedAsync(texts.Item1, cancellationToken);
            profile = analyzer.Analyze(analysisRequest, embedding);
            if (!embeddingFailed)
            {
                // A profile made without the embedding because the model failed is not remembered.
                memo.Add(memoKey, profile, embedding);
            }
        }

        if (request.ToolJsonBytes > 0)
        {
            // Tool definitions and earlier tool calls are prompt tokens the provider bills, outside any message text: a
            // JSON schema runs about four bytes a token. (Added here, not in the memo: they vary with the request.)
            profile = profile with { PromptTokens = profile.PromptTokens + ((request.ToolJsonBytes + 3) / 4) };
        }

        telemetry.Stage("analysis", Stopwatch.GetElapsedTime(started));
        policy ??= await policies.GetAsync(context.TenantId, cancellationToken);
        if (!router.TryDecide(new RuleInput(profile, context, request), modelRequest, policy, out var decision, out error))
        {
            return (null, error);
        }

        Activity.Current?.SetTag("router.task", profile.Task.Type.ToWireName());
        Activity.Current?.SetTag("router.complexity", profile.Complexity);
        Activity.Current?.SetTag("router.risk", profile.Risk.Level.ToWireName());
        Activity.Current?.SetTag("router.tier", decision.Tier.ToWire());

        return (new PreparedRequest(profile, decision, policy, embedding) { CacheVector = CacheVectorOf(texts, embedding) }, null);
    }

    private SemanticVector CacheVectorOf((string Analysis, string Cache) texts, ReadOnlyMemory<float> analysisEmbedding)
    {
        var text = texts.Cache;
        if (embeddings is null || text.Length == 0)
        {
            return SemanticVector.None;
        }

        // Usually analysis embedded this very text. With a persona system prompt, or for a follow-up edit ("now make it
        // shorter", embedded as the turn it edits), it did not: comparing that vector would make every question under
        // one long system prompt, or every follow-up to one conversation, look alike.
        if (text == texts.Analysis)
        {
            return analysisEmbedding.IsEmpty ? SemanticVector.None : SemanticVector.Ready(analysisEmbedding);
        }

        return SemanticVector.Lazy(async cancellationToken =>
        {
            try
            {
                var generated = await embeddings.GenerateAsync([text], cancellationToken: cancellationToken);
                return generated.Count > 0 ? generated[0].Vector : default;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.EmbeddingFailed(logger, ex.GetType().Name);
                return default;
            }
        });
    }

    /// <summary>
    /// What the cache would do with a prepared request now, as <c>POST /v1/route</c> reports it: <c>bypass</c> when it
    /// may not be read (<c>Cache-Control</c>, a tenant rule, high risk, tools), else <c>exact</c>, <c>semantic</c> with
    /// the similarity, or <c>miss</c>. It reads the cache exactly as the chat request would and writes nothing.
    /// </summary>
    public async Task<(string Status, float? Similarity)> PreviewCacheAsync(RequestContext context, ChatRequest request, PreparedRequest prepared, CancellationToken cancellationToken)
    {
        var (permission, hit) = await LookupAsync(context, request, prepared, cancellationToken);
        return hit is not null ? (hit.Kind, hit.Similarity) : (permission.Read ? "miss" : "bypass", null);
    }

    /// <summary>
    /// For a dry run (the <c>replay</c> command): what the cache would do with a prepared request, as
    /// <see cref="PreviewCacheAsync"/> says; a request the cache may keep is then remembered with a stand-in answer of
    /// the expected length, so later requests that repeat or paraphrase it hit as they would in service.
    /// </summary>
    public async Task<(string Status, float? Similarity)> SimulateCacheAsync(RequestContext context, ChatRequest request, PreparedRequest prepared, CancellationToken cancellationToken)
    {
        var (permission, hit) = await LookupAsync(context, request, prepared, cancellationToken);
        if (hit is not null)
        {
            return (hit.Kind, hit.Similarity);
        }

        if (permission.Write)
        {
            await StoreAsync(context, request, prepared, prepared.Decision.Model, "(not generated: dry run)", "stop",
                new TokenUsage(prepared.Profile.PromptTokens, prepared.Profile.ExpectedOutputTokens));
        }

        return (permission.Read ? "miss" : "bypass", null);
    }

    private async Task<(CachePermission Permission, CacheHit? Hit)> LookupAsync(RequestContext context, ChatRequest request, PreparedRequest prepared, CancellationToken cancellationToken)
    {
        var permission = cache.Permission(context, request, prepared.Profile, prepared.Decision);
        if (!permission.Read)
        {
            return (permission, null);
        }

        var started = Stopwatch.GetTimestamp();
        var threshold = StricterOf(prepared.Policy.EffectiveCacheSimilarityThreshold, request.RouterOptions.CacheThreshold);
        // An answer from a model below the tier this request is routed to (a quality setting, a tenant rule) is not served,
        // nor one from another model than a tenant rule pins (data residency holds for cached answers too).
        var decision = prepared.Decision;
        var keys = prepared.CacheKeys ??= ResponseCacheService.KeysOf(context.TenantId, request);
        CacheHit? hit;
        try
        {
            hit = await cache.LookupAsync(context.TenantId, request, keys, prepared.CacheVector.GetAsync, EmbeddingModel, threshold, cancellationToken,
                answer => catalog.TryGet(answer.Model, out var model) && model.Tier >= decision.Tier
                    && (!decision.PinnedByRule || decision.Candidates.Contains(model)));
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // A cache that cannot be read (its database out of reach) costs money, not the answer: the request goes to a
            // model as on a miss, as an answer the cache cannot store still goes out.
            Log.CacheNotRead(logger, context.RequestId, ex.GetType().Name);
            hit = null;
        }

        telemetry.Stage("cache", Stopwatch.GetElapsedTime(started));
        return (permission, hit);
    }

    /// <summary>Runs the request, writes the answer (or an OpenAI-style error) to <paramref name="sink"/> and records its usage.</summary>
    public async Task HandleAsync(RequestContext context, ChatRequest request, IResponseSink sink, CancellationToken cancellationToken)
    {
        using var activity = RouterTelemetry.Source.StartActivity("router.chat");
        activity?.SetTag("router.request_id", context.RequestId);
        activity?.SetTag("router.tenant", context.TenantId);
        var started = Stopwatch.GetTimestamp();
        IReadOnlyList<string> reasons = [];
        var served = new ServeProgress(new UsageRecord { RequestId = context.RequestId, TenantId = context.TenantId, KeyId = context.KeyId, SessionId = context.SessionId, Timestamp = context.ReceivedAt, Streamed = request.Stream });
        UsageRecord? usage = null;
        try
        {
            usage = await ServeAsync(context, request, sink, served, r => reasons = r, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client left part-way: what was already priced is billed and the reservation settled, as on any other path.
            usage = served.Usage with { Outcome = UsageOutcomes.Cancelled, ErrorCode = "client_closed" };
        }
        finally
        {
            // Whatever ended the request (an unexpected exception too), its reservation is settled and its row written.
            usage ??= served.Usage with { Outcome = UsageOutcomes.Error, ErrorCode = "internal_error" };

            // A call recorded as an error (a stream the provider cut or broke, a failure after the answer was priced) is
            // billed the provider's cost of the tokens it produced, which the provider bills the router for, and no fee:
            // the row's outcome and what it bills agree, here and in the budgets it settles.
            usage = usage with
            {
                LatencyMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                FeeUsd = FeeBilled(usage, UsageOutcomes.IsError(usage.Outcome)),
            };
            activity?.SetTag("router.model", usage.Model);
            activity?.SetTag("router.cache", usage.Cache);
            activity?.SetTag("router.outcome", usage.Outcome);
            activity?.SetTag("router.cost_usd", (double)usage.CostUsd);
            telemetry.Request(usage);
            recent.Add(new DecisionRecord(usage, reasons));
            await RecordAsync(usage, served.Reservation);
        }
    }

    private async Task<UsageRecord> ServeAsync(
        RequestContext context, ChatRequest request, IResponseSink sink, ServeProgress served, Action<IReadOnlyList<string>> explain, CancellationToken cancellationToken)
    {
        var usage = served.Usage;
        // A key past its requests-per-minute limit is refused before the analysis and any embedding are paid for.
        var (prepared, error) = await AdmitAndPrepareAsync(context, request, cancellationToken);
        if (prepared is null)
        {
            await WriteErrorAsync(sink, error!, cancellationToken);
            return Failed(usage, error!);
        }

        explain(prepared.Decision.Reasons);

        var (profile, decision, policy, embedding) = prepared;
        usage = usage with
        {
            Task = profile.Task.Type.ToWireName(),
            Complexity = profile.Complexity ?? 5,
            Risk = profile.Risk.Level.ToWireName(),
            Model = decision.Model.Id,
            Tier = decision.Tier.ToWire(),
            // Until the lookup says otherwise: a request refused before it (the loop guard, tokens per minute) read no cache.
            Cache = "bypass",
        };
        sink.SetHeader(RouterHeaders.Task, usage.Task);
        sink.SetHeader(RouterHeaders.Complexity, usage.Complexity.ToString(CultureInfo.InvariantCulture));
        sink.SetHeader(RouterHeaders.Risk, usage.Risk);

        if (admission.Admit(context, prepared, XxHash3.HashToUInt64(request.Body.Span), AgentStepOf(request)) is { } refused)
        {
            await RefuseAfterRoutingAsync(sink, usage, refused, cancellationToken);
            return Failed(usage, refused);
        }

        // Reserves against the budgets (kept in served, so however the request ends the reservation is settled), or
        // refuses: returns the usage to record when the refusal went out, else null. A cache hit refused for its fee was
        // not served from the cache: its headers say bypass, as the row it is recorded as does (it counts no hit).
        async ValueTask<UsageRecord?> ReserveAsync(ValueTask<(BudgetReservation? Reservation, RouterError? Error)> reserving)
        {
            served.Usage = usage;
            var (reservation, refusal) = await reserving;
            if (refusal is not null)
            {
                await RefuseAfterRoutingAsync(sink, usage, refusal, cancellationToken);
                return Failed(usage, refusal);
            }

            served.Reservation = reservation;
            return null;
        }

        var (permission, hit) = await LookupAsync(context, request, prepared, cancellationToken);
        if (hit is not null)
        {
            // A hit costs no provider money, but a tenant's per-call fee is billed on it: that fee counts against the
            // budgets like any other charge, and a tenant or key past its cap is refused here too.
            if (policy.FeeFor(0) is > 0 and var fee
                && await ReserveAsync(admission.ReserveAsync(context, policy, fee, cancellationToken)) is { } feeRefused)
            {
                return feeRefused;
            }

            return await ServeHitAsync(context, request, prepared, hit, sink, usage, cancellationToken);
        }

        var cacheStatus = permission.Read ? "miss" : "bypass";
        sink.SetHeader(RouterHeaders.Cache, cacheStatus);
        if (usage.Cache != cacheStatus)
        {
            usage = usage with { Cache = cacheStatus };
        }

        if (await ReserveAsync(admission.ReserveAsync(context, request, prepared, cancellationToken)) is { } budgetRefused)
        {
            return budgetRefused;
        }

        var providerStarted = Stopwatch.GetTimestamp();
        await using var result = await executor.ExecuteAsync(context.RequestId, request, decision.Candidates, cancellationToken);
        telemetry.Stage("provider", Stopwatch.GetElapsedTime(providerStarted));
        if (usage.Fallbacks != result.Fallbacks)
        {
            usage = usage with { Fallbacks = result.Fallbacks };
        }
        sink.SetHeader(RouterHeaders.Fallbacks, result.Fallbacks.ToString(CultureInfo.InvariantCulture));
        if (result.Error is { } failure)
        {
            // The row and the x-router-model header name the model last tried, as documented, not the first candidate.
            var tried = result.Attempts.LastOrDefault(a => a.Called) is { } last && catalog.TryGet(last.Model, out var lastModel)
                ? lastModel
                : decision.Model;
            usage = usage with { Model = tried.Id, Tier = tried.Tier.ToWire() };
            await RefuseAfterRoutingAsync(sink, usage, failure, cancellationToken);
            return Failed(usage, failure);
        }

        var model = result.Model!;
        var response = result.Response!;
        if (usage.Model != model.Id || usage.Tier != model.Tier.ToWire())
        {
            // Failed over, or the routed tier had no model of its own: the row names the model that answered.
            usage = usage with { Model = model.Id, Tier = model.Tier.ToWire() };
        }

        served.Usage = usage;
        sink.SetHeader(RouterHeaders.Model, model.Id);
        sink.SetHeader(RouterHeaders.Tier, model.Tier.ToWire());

        if (!response.IsSuccess)
        {
            // Passed through as the provider's answer, but still a routed response: every header, at no cost (the row's).
            SetRoutedHeaders(sink, usage);
            var rejected = result.Body;
            if (CompletionReader.IsErrorPayload(rejected.Span) && CompletionReader.IsOneJsonValue(rejected.Span))
            {
                await sink.WriteJsonAsync(response.StatusCode, rejected, cancellationToken);
            }
            else
            {
                // An HTML page from a proxy in front of the model, an empty body or an error followed by more bytes: the client
                // still gets OpenAI's shape.
                await WriteErrorAsync(sink, new RouterError(response.StatusCode, "invalid_request_error", "provider_rejected",
                    $"{model.Id} rejected the request with HTTP {response.StatusCode.ToString(CultureInfo.InvariantCulture)} and no error details."), cancellationToken);
            }

            return usage with { Outcome = UsageOutcomes.ClientError, ErrorCode = "provider_" + response.StatusCode.ToString(CultureInfo.InvariantCulture) };
        }

        if (!request.Stream)
        {
            var body = result.Body;
            var summary = result.Summary;
            var reported = summary.Usage;
            // Without usage everything generated is counted: every choice, and tool calls, refusals and reasoning besides text.
            var counted = reported ?? new TokenUsage(profile.PromptTokens, tokens.Count(summary.BillableText));
            usage = Priced(usage, model, counted, reported is not null, policy);
            served.Usage = usage;   // the provider has answered: a client that leaves now is still billed for it
            SetCostHeaders(sink, usage);
            await sink.WriteJsonAsync(200, body, cancellationToken);
            // An answer with more than text (a refusal, citations, tool calls) is not cached: a hit replays the text alone.
            if (permission.Write && summary.ChoiceCount == 1 && !summary.MessageExtras)
            {
                await StoreAsync(context, request, prepared, model, summary.Content, summary.FinishReason, counted);
            }

            await SampleAuditAsync(context, request, prepared, model, usage.Cache, summary.Content);
            return usage;
        }

        // Stream headers go out before usage is known: the cost headers carry the estimate, and the exact figures
        // follow as an SSE comment just before [DONE].
        SetCostHeaders(sink, Priced(usage, model, new TokenUsage(profile.PromptTokens, profile.ExpectedOutputTokens), false, policy));
        await sink.StartEventStreamAsync(cancellationToken);
        var relay = await SseRelay.RelayAsync(
            result.Events!,
            sink,
            request.IncludeUsage == true,
            r =>
            {
                // Only a stream that ended well gets here (after a provider's error the relay holds its [DONE] back).
                var final = Priced(usage, model, r.Usage ?? new TokenUsage(profile.PromptTokens, tokens.Count(r.BillableText)), r.Usage is not null, policy);
                var billed = final.CostUsd + final.FeeUsd;
                return Encoding.UTF8.GetBytes($": {RouterHeaders.CostUsd}={FormatUsd(final.CostUsd)} {RouterHeaders.SavingsUsd}={FormatUsd(final.SavingsUsd)} {RouterHeaders.BilledUsd}={FormatUsd(billed)}\n\n");
            },
            cancellationToken);

        // Billed from the provider's usage when it sent one, else from the content relayed, counted locally; a client
        // that left mid-stream is billed for what was streamed until then.
        usage = Priced(usage, model, relay.Usage ?? new TokenUsage(profile.PromptTokens, tokens.Count(relay.BillableText)), relay.Usage is not null, policy);
        served.Usage = usage;
        if (relay.End == StreamEnd.ClientClosed)
        {
            return usage with { Outcome = UsageOutcomes.Cancelled, ErrorCode = "client_closed" };
        }

        if (relay.ProviderError)
        {
            // The provider's own error has reached the client, and its [DONE], if it sent one, was held back: a failed
            // stream ends with an error event, never as if whole. The answer is incomplete, so it is neither cached nor audited.
            Log.StreamBroken(logger, context.RequestId, model.Id, "ProviderError", relay.EventsForwarded);
            await sink.WriteEventAsync(SseRelay.ErrorEvent("upstream_error", $"The provider's stream from {model.Id} reported an error after it started."), cancellationToken);
            usage = usage with { Outcome = UsageOutcomes.Error, ErrorCode = "upstream_error" };
        }
        else if (relay.End != StreamEnd.Done)
        {
            Log.StreamBroken(logger, context.RequestId, model.Id, relay.End.ToString(), relay.EventsForwarded);
            var message = relay.End switch
            {
                StreamEnd.Cut => $"The provider's stream from {model.Id} ended before it was complete.",
                StreamEnd.EventTooLarge => $"The provider's stream from {model.Id} sent an event larger than the router reads.",
                _ => $"The provider's stream from {model.Id} stalled.",
            };
            await sink.WriteEventAsync(SseRelay.ErrorEvent("stream_interrupted", message), cancellationToken);
            usage = usage with { Outcome = UsageOutcomes.Error, ErrorCode = "stream_interrupted" };
        }
        else
        {
            if (permission.Write && !relay.MessageExtras)
            {
                await StoreAsync(context, request, prepared, model, relay.Content, relay.FinishReason, new TokenUsage(usage.PromptTokens, usage.CompletionTokens));
            }

            await SampleAuditAsync(context, request, prepared, model, usage.Cache, relay.Content);
        }

        return usage;
    }

    // A request may ask for a stricter semantic threshold than its tenant's, never a looser one.
    private static float? StricterOf(float? tenant, double? request) =>
        request is { } r ? Math.Max(tenant ?? 0, (float)r) : tenant;

    private string EmbeddingModel => EmbeddingModelOf(embeddings);

    /// <summary>The embedding model answers are cached under (and so the cache container they are kept in): the
    /// generator's model id, or <c>none</c> without embeddings. The Cosmos DB cache's start-up check names the same.</summary>
    internal static string EmbeddingModelOf(IEmbeddingGenerator<string, Embedding<float>>? embeddings) =>
        embeddings?.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelId ?? "none";

    private async Task<UsageRecord> ServeHitAsync(
        RequestContext context, ChatRequest request, PreparedRequest prepared, CacheHit hit, IResponseSink sink, UsageRecord usage, CancellationToken cancellationToken)
    {
        var answer = hit.Answer;
        var model = catalog.TryGet(answer.Model, out var m) ? m : prepared.Decision.Model;
        // An exact hit is the very prompt the stored answer was for: its prompt tokens are the ones the provider counted
        // then. A semantic hit's prompt differs, so it is counted here.
        var tokens = new TokenUsage(hit.Kind == "exact" ? answer.PromptTokens : prepared.Profile.PromptTokens, answer.CompletionTokens);
        var baseline = catalog.Baseline?.Cost(tokens.PromptTokens, tokens.CompletionTokens) ?? 0;
        usage = usage with
        {
            Cache = hit.Kind,
            Model = model.Id,
            Tier = model.Tier.ToWire(),
            PromptTokens = tokens.PromptTokens,
            CompletionTokens = tokens.CompletionTokens,
            UsageSource = "cache",
            CostUsd = 0,
            BaselineCostUsd = baseline,
            FeeUsd = prepared.Policy.FeeFor(0),
        };
        sink.SetHeader(RouterHeaders.Cache, hit.Kind);
        sink.SetHeader(RouterHeaders.Model, model.Id);
        sink.SetHeader(RouterHeaders.Tier, model.Tier.ToWire());
        sink.SetHeader(RouterHeaders.Fallbacks, "0");
        if (hit.Similarity is { } similarity)
        {
            sink.SetHeader(RouterHeaders.Similarity, FormatSimilarity(similarity));
        }

        SetCostHeaders(sink, usage);
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        if (!request.Stream)
        {
            await sink.WriteJsonAsync(200, CachedCompletion.Json(context.RequestId, created, model.UpstreamModel, answer, tokens), cancellationToken);
        }
        else
        {
            await sink.StartEventStreamAsync(cancellationToken);
            foreach (var evt in CachedCompletion.Events(context.RequestId, created, model.UpstreamModel, answer, tokens, request.IncludeUsage == true))
            {
                await sink.WriteEventAsync(evt, cancellationToken);
            }
        }

        await SampleAuditAsync(context, request, prepared, model, hit.Kind, answer.Content);
        return usage;
    }

    private async Task StoreAsync(RequestContext context, ChatRequest request, PreparedRequest prepared, CatalogModel model, string? content, string? finishReason, TokenUsage tokens)
    {
        try
        {
            var vector = cache.SemanticEnabled ? await prepared.CacheVector.GetAsync(CancellationToken.None) : default;
            await cache.StoreAsync(context.TenantId, request, prepared.CacheKeys, vector, EmbeddingModel, model.Id, content, finishReason,
                tokens.PromptTokens, tokens.CompletionTokens, prepared.Policy.CacheTimeToLive, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A cache outage costs money, not correctness: the answer has gone out.
            Log.CacheNotStored(logger, context.RequestId, ex.GetType().Name);
        }
    }

    private async Task SampleAuditAsync(RequestContext context, ChatRequest request, PreparedRequest prepared, CatalogModel model, string cache, string? answer)
    {
        var (profile, decision, policy, _) = prepared;

        // An audit copies the conversation to the reference and judge models, which may sit with another provider, and
        // keeps it queued for days: never for a client that said no-store, and not for personal data or for traffic a
        // tenant rule holds to one model (data residency) unless the audit is the one a rule asked for (a probe or a
        // sample of the same request is not).
        if (string.IsNullOrEmpty(answer)
            || context.NoStore
            || auditSampler.Choose(context.RequestId, policy, profile, decision, model.Tier, cache) is not { } reason)
        {
            return;
        }

        var forced = reason == AuditReasons.Rule;
        var personal = profile.Risk.Categories.Contains(RiskCategory.Pii);
        if (!forced && (personal || decision.PinnedByRule))
        {
            var skip = personal ? AuditSkips.PersonalData : AuditSkips.Pinned;
            telemetry.AuditSkipped(reason, skip);
            Log.AuditSkippedPrivate(logger, context.RequestId, reason, skip);
            return;
        }

        // The job carries the conversation's text: without its images or files the reference, the judge and a probe's
        // challenger would all see another prompt than the one answered, and the verdict would still feed the weights.
        if (request.Messages.Any(m => m.NonTextPartCount > 0))
        {
            telemetry.AuditSkipped(reason, AuditSkips.NonText);
            Log.AuditSkippedNonText(logger, context.RequestId, reason);
            return;
        }

        // Nor does it carry tool calls and their ids: an assistant turn that called a tool arrives empty, and the client
        // library drops a tool result without the call it answers, so the reference would answer without the tools'
        // output while the judge, which reads the turns as text, sees it.
        if (request.Messages.Any(m => m.HasToolCalls || m.Role is "tool" or "function"))
        {
            telemetry.AuditSkipped(reason, AuditSkips.ToolTurns);
            Log.AuditSkippedToolTurns(logger, context.RequestId, reason);
            return;
        }

        // A probe tests the lower tier with a model that could serve the request, as routing would were the band to come
        // down: where none can (its context, tools or features), a probe would fail on every delivery or test a model
        // routing never sends such a request to.
        var requirements = ModelRequirements.Of(request, profile);
        if (reason == AuditReasons.Probe && decision.RaisedFrom is { } lower && !catalog.InTier(lower).Any(requirements.MetBy))
        {
            telemetry.AuditSkipped(reason, AuditSkips.NoChallenger);
            Log.AuditSkippedNoChallenger(logger, context.RequestId, lower);
            return;
        }

        var limit = auditOptions.Value.MaxTextChars;
        var messages = request.Messages.Select(m => new AuditMessage(m.Role, Bound(m.Text, limit))).ToArray();
        var boundedAnswer = Bound(answer, limit);

        // The risk scan reads a window of each prompt message and no assistant turn, so personal data past it (or in
        // the answer) would still be copied: what the job carries is checked whole, on the sampled path only.
        if (!forced && (PiiDetector.Finds(boundedAnswer) || messages.Any(m => PiiDetector.Finds(m.Content))))
        {
            telemetry.AuditSkipped(reason, AuditSkips.PersonalData);
            Log.AuditSkippedPersonalData(logger, context.RequestId);
            return;
        }

        // Each audit buys a premium reference and two judge calls: past the instance's allowance per minute the answer
        // goes unaudited (counted), so a burst of risky traffic cannot cost more in audits than routing saved.
        if (!auditSampler.Admit(reason))
        {
            return;
        }

        var job = new AuditJob
        {
            RequestId = context.RequestId,
            TenantId = context.TenantId,
            Timestamp = context.ReceivedAt,
            Task = profile.Task.Type.ToWireName(),
            // The prompt's own band: a tenant's knob, tier alias or pin says what it will pay, not how hard the prompt
            // is, and filing a hard prompt served cheaply at quality 0 as a low-band failure would raise every tenant's floor.
            // A probe tests a raise, so it is filed in the band whose floor raised the tier.
            Band = reason == AuditReasons.Probe && decision.RaisedIn is { } raisedIn ? raisedIn.ToWire() : AuditSampler.Band(decision.Complexity),
            Model = model.Id,
            Tier = model.Tier.ToWire(),
            Reason = reason,
            ChallengerTier = reason == AuditReasons.Probe ? decision.RaisedFrom?.ToWire() : null,
            Requirements = reason == AuditReasons.Probe ? requirements : null,
            Messages = messages,
            Answer = boundedAnswer,
        };
        try
        {
            await audits.EnqueueAsync(job, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Audits improve routing over time; losing one must not fail a request that has been answered.
            Log.AuditNotQueued(logger, context.RequestId, ex.GetType().Name);
        }
    }

    // Long texts keep their start and end, where instructions and conclusions usually are.
    private static string Bound(string text, int limit) =>
        text.Length <= limit ? text : string.Concat(text.AsSpan(0, limit / 2), "\n…\n", text.AsSpan(text.Length - limit / 2));

    private async Task RecordAsync(UsageRecord usage, BudgetReservation? reservation)
    {
        // The usage row is what the tenant is billed from: it is written first, and a failure to settle the budget
        // counters afterwards cannot lose it.
        try
        {
            await ledger.RecordAsync(usage, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The answer has gone out; a ledger outage must not turn it into an error. The row's billing figures are
            // logged (no prompt text), so it can be re-entered.
            Log.UsageNotRecorded(logger, usage.RequestId, usage.TenantId, usage.KeyId, usage.Timestamp, usage.Model, usage.PromptTokens,
                usage.CompletionTokens, usage.CostUsd, usage.FeeUsd, usage.Outcome, ex.GetType().Name);
        }

        try
        {
            if (reservation is not null)
            {
                await admission.SettleAsync(reservation, usage.CostUsd + usage.FeeUsd, CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.SpendNotSettled(logger, usage.RequestId, usage.TenantId, usage.CostUsd + usage.FeeUsd, ex.GetType().Name);
        }
    }

    private UsageRecord Priced(UsageRecord usage, CatalogModel model, TokenUsage tokenUsage, bool reported, TenantPolicy policy)
    {
        var cost = model.Cost(tokenUsage.PromptTokens, tokenUsage.CompletionTokens, tokenUsage.CachedPromptTokens);
        // Like for like: the baseline model is priced with the same cached prompt tokens (the prefix would have been
        // cached there too), so a request the baseline model itself served saves nothing; and a request that cost more
        // than the baseline (a pinned or rule-chosen model pricier than it) shows the negative saving it is.
        var baseline = catalog.Baseline?.Cost(tokenUsage.PromptTokens, tokenUsage.CompletionTokens, tokenUsage.CachedPromptTokens) ?? cost;
        return usage with
        {
            PromptTokens = tokenUsage.PromptTokens,
            CompletionTokens = tokenUsage.CompletionTokens,
            CachedPromptTokens = tokenUsage.CachedPromptTokens,
            UsageSource = reported ? "provider" : "counted",
            CostUsd = cost,
            BaselineCostUsd = baseline,
            FeeUsd = policy.FeeFor(cost),
        };
    }

    // What ServeAsync has committed so far, for a request whose client leaves part-way (the cancellation surfaces as an
    // exception from any await): the reservation to settle and the usage as last priced.
    private sealed class ServeProgress(UsageRecord usage)
    {
        public UsageRecord Usage { get; set; } = usage;

        public BudgetReservation? Reservation { get; set; }
    }

    /// <summary>The fee billed on a call: none when it is recorded as an error (the tokens it produced are still billed at
    /// cost). A stream's closing cost comment, which includes the fee, goes out only on a stream that ended well.</summary>
    private static decimal FeeBilled(UsageRecord usage, bool error) => error ? 0 : usage.FeeUsd;

    private static UsageRecord Failed(UsageRecord usage, RouterError error) =>
        usage with { Outcome = UsageOutcomes.Error, ErrorCode = error.Code };

    private async Task<(ReadOnlyMemory<float> Vector, bool Failed)> EmbedAsync(string text, CancellationToken cancellationToken)
    {
        if (embeddings is null || text.Length == 0)
        {
            return (default, false);
        }

        try
        {
            var generated = await embeddings.GenerateAsync([text], cancellationToken: cancellationToken);
            return (generated.Count > 0 ? generated[0].Vector : default, false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A broken embedding model costs accuracy, not availability.
            Log.EmbeddingFailed(logger, ex.GetType().Name);
            return (default, true);
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

    private static void SetCostHeaders(IResponseSink sink, UsageRecord usage)
    {
        sink.SetHeader(RouterHeaders.CostUsd, FormatUsd(usage.CostUsd));
        sink.SetHeader(RouterHeaders.SavingsUsd, FormatUsd(usage.SavingsUsd));
        sink.SetHeader(RouterHeaders.BilledUsd, FormatUsd(usage.CostUsd + usage.FeeUsd));
    }

    /// <summary>USD with up to 8 decimals, invariant culture.</summary>
    public static string FormatUsd(decimal value) => value.ToString("0.########", CultureInfo.InvariantCulture);

    /// <summary>
    /// A hash of the agent step a request reports: the last assistant message with tool calls and the tool results after
    /// it, when no user turn follows them; 0 when there is none. The runaway-agent guard compares it, because every round
    /// of one task has the same task text (and so the same embedding) while its tool calls and results move on.
    /// </summary>
    internal static ulong AgentStepOf(ChatRequest request)
    {
        var messages = request.Messages;
        var start = -1;
        for (var i = messages.Count - 1; i >= 0 && messages[i].Role != "user"; i--)
        {
            if (messages[i].Role == "assistant" && messages[i].HasToolCalls)
            {
                start = i;
                break;
            }
        }

        if (start < 0)
        {
            return 0;
        }

        var hasher = new XxHash3();
        for (var i = start; i < messages.Count; i++)
        {
            hasher.Append(MemoryMarshal.AsBytes(messages[i].Role.AsSpan()));
            hasher.Append(MemoryMarshal.AsBytes(messages[i].Text.AsSpan()));
            hasher.Append(MemoryMarshal.AsBytes(messages[i].Attachments.AsSpan()));
        }

        return hasher.GetCurrentHashAsUInt64();
    }

    // A refusal or a failure after routing is still a routed response, and the contract promises its headers on every
    // one: every refusal path comes here, and they are all set from the row it is recorded as, with no cost, no saving
    // and nothing billed.
    private static Task RefuseAfterRoutingAsync(IResponseSink sink, UsageRecord usage, RouterError error, CancellationToken cancellationToken, float? similarity = null)
    {
        SetRoutedHeaders(sink, usage with { CostUsd = 0, BaselineCostUsd = 0, FeeUsd = 0 });
        if (similarity is { } value)
        {
            sink.SetHeader(RouterHeaders.Similarity, FormatSimilarity(value));
        }

        return WriteErrorAsync(sink, error, cancellationToken);
    }

    // Every x-router-* header but the request id (which the host sets on every response) and the similarity.
    private static void SetRoutedHeaders(IResponseSink sink, UsageRecord usage)
    {
        sink.SetHeader(RouterHeaders.Model, usage.Model ?? "");
        sink.SetHeader(RouterHeaders.Tier, usage.Tier ?? "");
        sink.SetHeader(RouterHeaders.Task, usage.Task ?? "");
        sink.SetHeader(RouterHeaders.Complexity, usage.Complexity.ToString(CultureInfo.InvariantCulture));
        sink.SetHeader(RouterHeaders.Risk, usage.Risk ?? "");
        sink.SetHeader(RouterHeaders.Cache, usage.Cache);
        sink.SetHeader(RouterHeaders.Fallbacks, usage.Fallbacks.ToString(CultureInfo.InvariantCulture));
        SetCostHeaders(sink, usage);
    }

    private static string FormatSimilarity(float similarity) => similarity.ToString("0.####", CultureInfo.InvariantCulture);

    private static Task WriteErrorAsync(IResponseSink sink, RouterError error, CancellationToken cancellationToken)
    {
        if (error.RetryAfter is { } retryAfter)
        {
            sink.SetHeader("Retry-After", Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture));
        }

        if (error.RetryIsFutile)
        {
            // OpenAI's SDKs retry a 429 by default, sleeping through Retry-After: a runaway agent would never see it.
            sink.SetHeader("x-should-retry", "false");
        }
        else if (error.RetryWillHelp)
        {
            sink.SetHeader("x-should-retry", "true");
        }

        return sink.WriteJsonAsync(error.Status, ErrorEnvelope.Serialize(error), cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Request {RequestId}: stream from {Model} ended with {End} after {Events} events")]
        public static partial void StreamBroken(ILogger logger, string requestId, string model, string end, int events);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "Request {RequestId} of tenant {TenantId} (key {KeyId}, at {Timestamp:o}, model {Model}, "
            + "{PromptTokens}+{CompletionTokens} tokens, cost {CostUsd} USD, fee {FeeUsd} USD, {Outcome}): usage could not be recorded ({ExceptionType})")]
        public static partial void UsageNotRecorded(ILogger logger, string requestId, string tenantId, string? keyId, DateTimeOffset timestamp, string? model,
            int promptTokens, int completionTokens, decimal costUsd, decimal feeUsd, string outcome, string exceptionType);

        [LoggerMessage(EventId = 1011, Level = LogLevel.Error, Message = "Request {RequestId} of tenant {TenantId}: {BilledUsd} USD could not be settled against its budgets ({ExceptionType})")]
        public static partial void SpendNotSettled(ILogger logger, string requestId, string tenantId, decimal billedUsd, string exceptionType);

        [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Request {RequestId}: audit job could not be queued ({ExceptionType})")]
        public static partial void AuditNotQueued(ILogger logger, string requestId, string exceptionType);

        [LoggerMessage(EventId = 1007, Level = LogLevel.Debug, Message = "Request {RequestId}: sampled for audit but not audited, the copied text holds personal data")]
        public static partial void AuditSkippedPersonalData(ILogger logger, string requestId);

        [LoggerMessage(EventId = 1009, Level = LogLevel.Debug, Message = "Request {RequestId}: sampled for audit ({Reason}) but not audited, it has images or files the audit cannot carry")]
        public static partial void AuditSkippedNonText(ILogger logger, string requestId, string reason);

        [LoggerMessage(EventId = 1012, Level = LogLevel.Debug, Message = "Request {RequestId}: sampled for audit ({Reason}) but not audited, it has tool calls or results the audit cannot carry")]
        public static partial void AuditSkippedToolTurns(ILogger logger, string requestId, string reason);

        [LoggerMessage(EventId = 1013, Level = LogLevel.Debug, Message = "Request {RequestId}: sampled for audit ({Reason}) but not audited ({Skip}): only an audit a tenant rule asks for copies such traffic")]
        public static partial void AuditSkippedPrivate(ILogger logger, string requestId, string reason, string skip);

        [LoggerMessage(EventId = 1010, Level = LogLevel.Debug, Message = "Request {RequestId}: probe not queued, no {Tier} model can serve the request")]
        public static partial void AuditSkippedNoChallenger(ILogger logger, string requestId, ModelTier tier);

        [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Request {RequestId}: answer could not be cached ({ExceptionType})")]
        public static partial void CacheNotStored(ILogger logger, string requestId, string exceptionType);

        [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "Request {RequestId}: cache could not be read ({ExceptionType}); served as a miss")]
        public static partial void CacheNotRead(ILogger logger, string requestId, string exceptionType);

        [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Embedding failed ({ExceptionType}); analysing without it")]
        public static partial void EmbeddingFailed(ILogger logger, string exceptionType);
    }
}
