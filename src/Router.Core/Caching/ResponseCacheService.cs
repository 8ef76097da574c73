using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Analysis;
using Router.Core.Chat;
using Router.Core.Metering;
using Router.Core.Pipeline;
using Router.Core.Routing;

namespace Router.Core.Caching;

/// <summary>What the cache may do for a request.</summary>
/// <param name="Read">Look answers up.</param>
/// <param name="Write">Store the answer.</param>
/// <param name="Reason">Why not, when either is off.</param>
public readonly record struct CachePermission(bool Read, bool Write, string? Reason);

/// <summary>Where a request's answer is cached: its scope fingerprint and its exact key (see <see cref="ResponseCacheService.KeysOf"/>).</summary>
public readonly record struct CacheKeys(string Scope, string Id);

/// <summary>Exact then semantic caching. The exact key hashes tenant, context and prompt; a semantic match needs the
/// same tenant and context, a cosine at or above the threshold, and every guard's consent (numbers, entities,
/// negations, code identifiers, choices and near-duplicate templates must agree).</summary>
public sealed partial class ResponseCacheService(
    IResponseCacheStore store,
    ISemanticGuard guard,
    IOptions<SemanticCacheOptions> options,
    TimeProvider time,
    ILogger<ResponseCacheService> logger)
{
    /// <summary>Whether semantic matching is on: when it is off, answers are stored for exact hits only and need no vector.</summary>
    public bool SemanticEnabled => options.Value.Enabled && options.Value.Semantic;

    /// <summary>Decides whether the cache may be read and written for this request.</summary>
    public CachePermission Permission(RequestContext context, ChatRequest request, RequestProfile profile, RoutingDecision decision)
    {
        var settings = options.Value;
        string? reason = null;
        if (!settings.Enabled)
        {
            reason = "cache disabled";
        }
        else if (context.NoStore)
        {
            reason = "Cache-Control: no-store";
        }
        else if (decision.CacheDisabled)
        {
            reason = "tenant rule";
        }
        else if (settings.SkipHighRisk && profile.Risk.Level == RiskLevel.High)
        {
            reason = "high risk";
        }
        else if (settings.SkipTools && request.HasTools)
        {
            reason = "tools";
        }
        else if (request.ChoiceCount > 1)
        {
            reason = "n > 1";
        }
        else if (request.WantsLogprobs)
        {
            reason = "logprobs";
        }
        else if (request.LastUserText.Length == 0)
        {
            reason = "no user text";
        }

        if (reason is not null)
        {
            return new CachePermission(false, false, reason);
        }

        return context.NoCache ? new CachePermission(false, true, "Cache-Control: no-cache") : new CachePermission(true, true, null);
    }

    /// <summary>The scope fingerprint of a request: everything that shapes the answer except the final user turn's text
    /// (the model asked for, the answer-shaping parameters, the earlier messages, every image, file and tool call).</summary>
    public static string ScopeOf(ChatRequest request)
    {
        // Hashed as UTF-8 of: MODEL ␟ shaping ␟ then per message "role␞length:text␞attachments␝" ("last␞attachments␝" for
        // the final user turn), written into one pooled buffer: stored answers are keyed by this, so the bytes must not change.
        var text = new ScopeText(256 + request.Body.Length);
        try
        {
            Span<char> model = request.Model.Length <= 128 ? stackalloc char[request.Model.Length] : new char[request.Model.Length];
            request.Model.AsSpan().ToUpperInvariant(model);
            text.Append(model);
            text.Append("\u001f");
            text.Append(request.AnswerShapingJson);
            text.Append("\u001f");
            var last = LastUserIndex(request);
            for (var i = 0; i < request.Messages.Count; i++)
            {
                var m = request.Messages[i];
                if (i == last)
                {
                    // The final user turn's text is the key (exact) or is compared (semantic); what it attaches must be the same.
                    text.Append("last\u001e");
                }
                else
                {
                    text.Append(m.Role);
                    text.Append("\u001e");
                    text.Append(m.Text.Length);
                    text.Append(":");
                    text.Append(m.Text);
                    text.Append("\u001e");
                }

                text.Append(m.Attachments);
                text.Append("\u001d");
            }

            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(text.Written, hash);
            return Convert.ToHexStringLower(hash[..16]);
        }
        finally
        {
            text.Dispose();
        }
    }

    /// <summary>UTF-8 text written into a buffer rented from the shared pool, grown as needed.</summary>
    private struct ScopeText(int capacity) : IDisposable
    {
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(capacity);
        private int _length;

        public readonly ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

        public void Append(ReadOnlySpan<char> chars)
        {
            Ensure(Encoding.UTF8.GetMaxByteCount(chars.Length));
            _length += Encoding.UTF8.GetBytes(chars, _buffer.AsSpan(_length));
        }

        public void Append(int value)
        {
            Ensure(11);
            value.TryFormat(_buffer.AsSpan(_length), out var written, default, CultureInfo.InvariantCulture);
            _length += written;
        }

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }

        private void Ensure(int more)
        {
            if (_buffer.Length - _length >= more)
            {
                return;
            }

            var grown = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + more));
            Written.CopyTo(grown);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = grown;
        }
    }

    /// <summary>The exact key of a request for <paramref name="tenantId"/>.</summary>
    public static string ExactKey(string tenantId, string scope, ChatRequest request) =>
        CacheKey.Compute(new CacheScope(tenantId, scope), request.LastUserText).ToString();

    /// <summary>The scope and exact key of a request for <paramref name="tenantId"/>: two SHA-256 passes over the request,
    /// so a caller that looks up and then stores computes them once and passes them to both.</summary>
    public static CacheKeys KeysOf(string tenantId, ChatRequest request)
    {
        var scope = ScopeOf(request);
        return new CacheKeys(scope, ExactKey(tenantId, scope, request));
    }

    /// <summary>Looks up an exact, then a semantic hit, among answers <paramref name="acceptable"/> allows (all when null):
    /// the caller passes what this request's routing decision would accept, such as the answering model's tier.</summary>
    public Task<CacheHit?> LookupAsync(
        string tenantId, ChatRequest request, ReadOnlyMemory<float> embedding, string embeddingModel, float? thresholdOverride,
        CancellationToken cancellationToken, Func<CachedAnswer, bool>? acceptable = null) =>
        LookupAsync(tenantId, request, _ => Task.FromResult(embedding), embeddingModel, thresholdOverride, cancellationToken, acceptable);

    /// <summary>As the overload above, with the request's embedding computed only after an exact miss.</summary>
    public Task<CacheHit?> LookupAsync(
        string tenantId, ChatRequest request, Func<CancellationToken, Task<ReadOnlyMemory<float>>> embed, string embeddingModel, float? thresholdOverride,
        CancellationToken cancellationToken, Func<CachedAnswer, bool>? acceptable = null) =>
        LookupAsync(tenantId, request, KeysOf(tenantId, request), embed, embeddingModel, thresholdOverride, cancellationToken, acceptable);

    /// <summary>As the overload above, under keys the caller computed with <see cref="KeysOf"/>.</summary>
    public async Task<CacheHit?> LookupAsync(
        string tenantId, ChatRequest request, CacheKeys keys, Func<CancellationToken, Task<ReadOnlyMemory<float>>> embed, string embeddingModel,
        float? thresholdOverride, CancellationToken cancellationToken, Func<CachedAnswer, bool>? acceptable = null)
    {
        var scope = keys.Scope;
        var now = time.GetUtcNow();
        var exact = store.LookupsAreInProcess
            ? await store.GetExactAsync(tenantId, scope, embeddingModel, keys.Id, cancellationToken)
            : await BoundedAsync(ct => store.GetExactAsync(tenantId, scope, embeddingModel, keys.Id, ct), "exact read", cancellationToken);
        if (exact is not null && exact.ExpiresAt > now && exact.TenantId == tenantId && exact.Prompt == request.LastUserText
            && (acceptable is null || acceptable(exact)))
        {
            return new CacheHit(exact, "exact", null);
        }

        var settings = options.Value;
        if (!settings.Semantic)
        {
            return null;
        }

        var embedding = await embed(cancellationToken);
        if (embedding.IsEmpty)
        {
            return null;
        }

        var threshold = Math.Max(settings.ThresholdFor(embeddingModel), thresholdOverride ?? 0);
        var candidates = store.LookupsAreInProcess
            ? await store.SearchAsync(tenantId, scope, embeddingModel, embedding, threshold, settings.Candidates, cancellationToken)
            : await BoundedAsync(ct => store.SearchAsync(tenantId, scope, embeddingModel, embedding, threshold, settings.Candidates, ct), "vector search", cancellationToken);
        if (candidates is null)
        {
            return null;
        }

        PromptFeatures? features = null;
        foreach (var candidate in candidates)
        {
            var answer = candidate.Answer;
            if (answer.TenantId != tenantId || answer.Scope != scope || answer.ExpiresAt <= now || candidate.Similarity < threshold
                || (acceptable is not null && !acceptable(answer)))
            {
                continue;
            }

            features ??= PromptFeatures.Extract(request.LastUserText);
            var verdict = guard.Check(features, PromptFeatures.Extract(answer.Prompt));
            if (verdict.Accepted)
            {
                return new CacheHit(answer, "semantic", candidate.Similarity);
            }

            Log.GuardRejected(logger, candidate.Similarity, verdict.Rejections);
        }

        return null;
    }

    /// <summary>Stores an answer unless it is one that must not be cached (empty, truncated or filtered).</summary>
    public Task StoreAsync(string tenantId, ChatRequest request, ReadOnlyMemory<float> embedding, string embeddingModel, string model, string? content,
        string? finishReason, int promptTokens, int completionTokens, TimeSpan? tenantTtl, CancellationToken cancellationToken) =>
        StoreAsync(tenantId, request, null, embedding, embeddingModel, model, content, finishReason, promptTokens, completionTokens, tenantTtl, cancellationToken);

    /// <summary>As the overload above, under keys the caller computed with <see cref="KeysOf"/> (computed here when null,
    /// and only for an answer that is stored).</summary>
    public async Task StoreAsync(string tenantId, ChatRequest request, CacheKeys? keys, ReadOnlyMemory<float> embedding, string embeddingModel, string model,
        string? content, string? finishReason, int promptTokens, int completionTokens, TimeSpan? tenantTtl, CancellationToken cancellationToken)
    {
        // Only an answer the provider said it finished ("stop"): a missing finish reason is a stream or body that ended
        // without saying so, not a complete answer.
        if (string.IsNullOrEmpty(content) || finishReason is null or "length" or "content_filter" or "tool_calls" or "function_call")
        {
            return;
        }

        var (scope, id) = keys ?? KeysOf(tenantId, request);
        var now = time.GetUtcNow();
        await store.StoreAsync(new CachedAnswer
        {
            Id = id,
            TenantId = tenantId,
            Scope = scope,
            Prompt = request.LastUserText,
            Embedding = embedding.ToArray(),
            EmbeddingModel = embeddingModel,
            Content = content,
            FinishReason = finishReason,
            Model = model,
            PromptTokens = promptTokens,
            CompletionTokens = completionTokens,
            CreatedAt = now,
            ExpiresAt = now + (tenantTtl ?? options.Value.TimeToLive),
        }, cancellationToken);
    }

    // One store call of a lookup to a store out of process, bounded by LookupTimeout: a store that fails or does not answer in time (Cosmos DB
    // throttling past its retries, unavailable, a missing container or role) is a miss with a log line, so the request
    // goes on to a provider. Only the caller's own cancellation (the client left) propagates.
    private async Task<T?> BoundedAsync<T>(Func<CancellationToken, ValueTask<T>> call, string operation, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(options.Value.LookupTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            return await call(linked.Token);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OutOfMemoryException)
        {
            if (ex is OperationCanceledException && timeout.IsCancellationRequested)
            {
                Log.StoreTimedOut(logger, operation, options.Value.LookupTimeout.TotalMilliseconds);
            }
            else
            {
                Log.StoreFailed(logger, operation, ex.GetType().Name, ex);
            }

            return default;
        }
    }

    private static int LastUserIndex(ChatRequest request)
    {
        for (var i = request.Messages.Count - 1; i >= 0; i--)
        {
            if (request.Messages[i].Role == "user")
            {
                return i;
            }
        }

        return -1;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1201, Level = LogLevel.Debug, Message = "Semantic candidate at similarity {Similarity:0.000} rejected by guards: {Rejections}")]
        public static partial void GuardRejected(ILogger logger, float similarity, GuardRejections rejections);

        [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Cache {Operation} failed ({ExceptionType}); served as a miss")]
        public static partial void StoreFailed(ILogger logger, string operation, string exceptionType, Exception exception);

        [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "Cache {Operation} timed out after {TimeoutMs:0} ms; served as a miss")]
        public static partial void StoreTimedOut(ILogger logger, string operation, double timeoutMs);
    }
}
