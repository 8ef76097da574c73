using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Numerics.Tensors;
using Microsoft.Extensions.Options;
using Router.Core.Chat;

namespace Router.Core.Metering;

/// <summary>Runaway-agent protection (section <c>Router:LoopGuard</c>).</summary>
public sealed class LoopGuardOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Router:LoopGuard";

    /// <summary>Near-identical requests allowed in one session within <see cref="Window"/> (default 8); the next is refused.</summary>
    [Range(1, 10_000)]
    public int MaxRepeats { get; set; } = 8;

    /// <summary>Window over which repeats are counted (default 2 min).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Cosine similarity of prompt embeddings at which two requests count as near-identical (default 0.97).</summary>
    [Range(0.5, 1.0)]
    public double SimilarityThreshold { get; set; } = 0.97;

    /// <summary>How long a session's spend is remembered after its last request (default 1 h).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan SessionIdleExpiry { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>Stops an agent that repeats itself: more than <see cref="LoopGuardOptions.MaxRepeats"/> near-identical
/// requests (same body hash, or prompt embeddings at or above the similarity threshold) in a session within the window
/// answer <c>429 loop_detected</c>; a session's spend can be capped too. Sessions are <c>x-session-id</c>, else the key.</summary>
public sealed class LoopGuard(IOptions<LoopGuardOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private long _checks;

    /// <summary>Records the request and refuses it when it is one repeat too many or the session's spend cap is reached.</summary>
    public RouterError? Check(string sessionKey, TenantPolicy policy, ulong requestHash, ReadOnlyMemory<float> embedding)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var session = _sessions.GetOrAdd(sessionKey, _ => new Session());
        if (Interlocked.Increment(ref _checks) % 1024 == 0)
        {
            Sweep(now - settings.SessionIdleExpiry);
        }

        lock (session)
        {
            session.LastSeen = now;
            if (policy.SessionSpendCapUsd is { } cap && session.Spent >= cap)
            {
                return new RouterError(402, "insufficient_quota", "budget_exceeded",
                    $"This session has spent ${session.Spent.ToString("0.####", CultureInfo.InvariantCulture)}, its cap of ${cap.ToString("0.##", CultureInfo.InvariantCulture)}.");
            }

            session.Recent.RemoveAll(r => now - r.At > settings.Window);
            var repeats = 0;
            var oldestRepeat = now;
            foreach (var previous in session.Recent)
            {
                if (previous.Hash == requestHash || Similar(previous.Embedding, embedding, settings.SimilarityThreshold))
                {
                    repeats++;
                    oldestRepeat = previous.At < oldestRepeat ? previous.At : oldestRepeat;
                }
            }

            if (repeats >= settings.MaxRepeats)
            {
                var retryAfter = oldestRepeat + settings.Window - now;
                return new RouterError(429, "rate_limit_error", "loop_detected",
                    $"This session sent {repeats + 1} near-identical requests within {settings.Window.TotalSeconds:0} s; it looks like an agent loop.",
                    RetryAfter: retryAfter > TimeSpan.Zero ? retryAfter : TimeSpan.FromSeconds(1));
            }

            session.Recent.Add(new Seen(now, requestHash, embedding));
            return null;
        }
    }

    /// <summary>Adds an answered request's cost to its session.</summary>
    public void AddSpend(string sessionKey, decimal costUsd)
    {
        if (_sessions.TryGetValue(sessionKey, out var session))
        {
            lock (session)
            {
                session.Spent += costUsd;
            }
        }
    }

    private static bool Similar(ReadOnlyMemory<float> a, ReadOnlyMemory<float> b, double threshold) =>
        a.Length > 0 && a.Length == b.Length && TensorPrimitives.CosineSimilarity(a.Span, b.Span) >= threshold;

    private void Sweep(DateTimeOffset idleBefore)
    {
        foreach (var (key, session) in _sessions)
        {
            if (session.LastSeen < idleBefore)
            {
                _sessions.TryRemove(key, out _);
            }
        }
    }

    private sealed record Seen(DateTimeOffset At, ulong Hash, ReadOnlyMemory<float> Embedding);

    private sealed class Session
    {
        public List<Seen> Recent { get; } = [];

        public DateTimeOffset LastSeen { get; set; }

        public decimal Spent { get; set; }
    }
}
