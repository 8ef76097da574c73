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

    /// <summary>Sessions tracked at most (default 100,000). Past it, sessions idle longer than <see cref="Window"/> are
    /// dropped, and if that is not enough a new session goes untracked: a client inventing a session id per request must
    /// not grow the router's memory without bound.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 10_000_000)]
    public int MaxSessions { get; set; } = 100_000;
}

/// <summary>Stops an agent that repeats itself: more than <see cref="LoopGuardOptions.MaxRepeats"/> near-identical
/// requests (same body hash, or prompt embeddings at or above the similarity threshold) in a session within the window
/// answer <c>429 loop_detected</c>; a session's spend can be capped too. Sessions are <c>x-session-id</c>, else the key.</summary>
/// <remarks>The work per request is constant, whatever the session's traffic: exact repeats are counted from a table of
/// body hashes seen within the window (at most <see cref="MaxTrackedPerSession"/> requests per session are remembered,
/// oldest first out), and near-identical ones are compared with the session's last <see cref="SimilarityDepth"/>
/// embeddings, which is where an agent loop shows.</remarks>
public sealed class LoopGuard(IOptions<LoopGuardOptions> options, TimeProvider time)
{
    /// <summary>Requests remembered per session for exact-repeat counting.</summary>
    public const int MaxTrackedPerSession = 16_384;

    /// <summary>Most recent requests of a session whose embeddings a new request is compared with.</summary>
    public const int SimilarityDepth = 32;

    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private long _checks;
    private long _lastFullSweepTicks;

    /// <summary>Sessions tracked now.</summary>
    internal int SessionCount => _sessions.Count;

    /// <summary>Records the request and refuses it when it is one repeat too many or the session's spend cap is reached.</summary>
    /// <param name="sessionKey">The session.</param>
    /// <param name="policy">The tenant's policy.</param>
    /// <param name="requestHash">A hash of the whole body: equal hashes are exact repeats.</param>
    /// <param name="embedding">The request's embedding: near-identical ones count as repeats too.</param>
    /// <param name="step">A hash of the agent step the request reports (its latest tool calls and their results), 0 for
    /// none: two requests are near-identical only when their steps are the same, since an agent that makes progress sends
    /// the same task (and so the same embedding) with new tool results every round.</param>
    public RouterError? Check(string sessionKey, TenantPolicy policy, ulong requestHash, ReadOnlyMemory<float> embedding, ulong step = 0)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        if (Interlocked.Increment(ref _checks) % 4096 == 0)
        {
            Sweep(now - settings.SessionIdleExpiry);
        }

        if (!_sessions.TryGetValue(sessionKey, out var session))
        {
            if (_sessions.Count >= settings.MaxSessions)
            {
                // At most one sweep a second: with the table full of live sessions, each new one would otherwise pay a
                // walk over all of them.
                var last = Interlocked.Read(ref _lastFullSweepTicks);
                if (now.UtcTicks - last >= TimeSpan.TicksPerSecond && Interlocked.CompareExchange(ref _lastFullSweepTicks, now.UtcTicks, last) == last)
                {
                    Sweep(now - settings.Window);
                }

                if (_sessions.Count >= settings.MaxSessions)
                {
                    return null;
                }
            }

            session = _sessions.GetOrAdd(sessionKey, static _ => new Session());
        }

        lock (session)
        {
            session.LastSeen = now;
            if (policy.SessionSpendCapUsd is { } cap && session.Spent >= cap)
            {
                return new RouterError(402, "insufficient_quota", "budget_exceeded",
                    $"This session has spent ${session.Spent.ToString("0.####", CultureInfo.InvariantCulture)}, its cap of ${cap.ToString("0.##", CultureInfo.InvariantCulture)}.");
            }

            session.Expire(now - settings.Window);
            var (repeats, oldestRepeat) = session.Repeats(requestHash, step, embedding, settings.SimilarityThreshold, now);
            if (repeats >= settings.MaxRepeats)
            {
                var retryAfter = oldestRepeat + settings.Window - now;
                return new RouterError(429, "rate_limit_error", "loop_detected",
                    $"This session sent {repeats + 1} near-identical requests within {settings.Window.TotalSeconds:0} s; it looks like an agent loop.",
                    RetryAfter: retryAfter > TimeSpan.Zero ? retryAfter : TimeSpan.FromSeconds(1));
            }

            session.Add(now, requestHash, step, embedding);
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

    private readonly record struct Seen(DateTimeOffset At, ulong Hash, ulong Step, ReadOnlyMemory<float> Embedding);

    /// <summary>One session's recent requests; every member is called under the session's lock.</summary>
    private sealed class Session
    {
        private readonly Queue<Seen> _order = new();
        private readonly Dictionary<ulong, Queue<DateTimeOffset>> _byHash = [];
        private readonly Seen[] _recent = new Seen[SimilarityDepth];
        private int _recentNext;

        public DateTimeOffset LastSeen { get; set; }

        public decimal Spent { get; set; }

        public void Expire(DateTimeOffset before)
        {
            while (_order.TryPeek(out var oldest) && (oldest.At < before || _order.Count >= MaxTrackedPerSession))
            {
                _order.Dequeue();
                var times = _byHash[oldest.Hash];
                times.Dequeue();
                if (times.Count == 0)
                {
                    _byHash.Remove(oldest.Hash);
                }
            }
        }

        /// <summary>Exact repeats within the window, plus near-identical requests among the most recent ones whose hash
        /// differs (so nothing is counted twice), and the time of the oldest of them.</summary>
        public (int Count, DateTimeOffset Oldest) Repeats(ulong hash, ulong step, ReadOnlyMemory<float> embedding, double threshold, DateTimeOffset now)
        {
            var count = 0;
            var oldest = now;
            if (_byHash.TryGetValue(hash, out var times))
            {
                count = times.Count;
                oldest = times.Peek();
            }

            if (embedding.Length == 0)
            {
                return (count, oldest);
            }

            var windowStart = _order.TryPeek(out var first) ? first.At : now;
            foreach (var previous in _recent)
            {
                if (previous.Hash != hash && previous.Step == step && previous.At >= windowStart && previous.Embedding.Length == embedding.Length
                    && TensorPrimitives.CosineSimilarity(previous.Embedding.Span, embedding.Span) >= threshold)
                {
                    count++;
                    oldest = previous.At < oldest ? previous.At : oldest;
                }
            }

            return (count, oldest);
        }

        public void Add(DateTimeOffset at, ulong hash, ulong step, ReadOnlyMemory<float> embedding)
        {
            var seen = new Seen(at, hash, step, embedding);
            _order.Enqueue(seen);
            if (!_byHash.TryGetValue(hash, out var times))
            {
                _byHash[hash] = times = new Queue<DateTimeOffset>(1);
            }

            times.Enqueue(at);
            _recent[_recentNext] = seen;
            _recentNext = (_recentNext + 1) % SimilarityDepth;
        }
    }
}
