using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Numerics.Tensors;
using Microsoft.Extensions.Options;
using Router.Core.Chat;

namespace Router.Core.Metering;

/// <summary>Runaway-agent protection (section <c>Router:LoopGuard</c>).</summary>
public sealed class LoopGuardOptions : IValidatableObject
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

    /// <summary>Sessions one tenant may have tracked at most (default 25,000), so that a tenant inventing session ids
    /// cannot fill the table and leave other tenants' new sessions untracked. A new session past this (or past
    /// <see cref="MaxSessions"/>) goes untracked when the tenant has no session spend cap, and is refused with
    /// <c>429 too_many_sessions</c> when it has one, since its cap could not hold.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 10_000_000)]
    public int MaxSessionsPerTenant { get; set; } = 25_000;

    /// <inheritdoc/>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxSessionsPerTenant > MaxSessions)
        {
            yield return new ValidationResult("MaxSessionsPerTenant must not exceed MaxSessions.", [nameof(MaxSessionsPerTenant)]);
        }
    }
}

/// <summary>Stops an agent that repeats itself: more than <see cref="LoopGuardOptions.MaxRepeats"/> near-identical
/// requests (same body hash, or prompt embeddings at or above the similarity threshold) in a session within the window
/// answer <c>429 loop_detected</c>; a session's spend can be capped too, by reservations: a request sets its worst-case
/// cost aside before the provider is called (<see cref="Reserve"/>) and settles the actual cost after it
/// (<see cref="Settle"/>), so concurrent requests of one session cannot pass the cap together. Sessions are
/// <c>x-session-id</c>, else the key.</summary>
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
    private readonly ConcurrentDictionary<string, TenantSessions> _tenants = new(StringComparer.Ordinal);
    private long _checks;
    private long _lastFullSweepTicks;

    /// <summary>Sessions tracked now.</summary>
    internal int SessionCount => _sessions.Count;

    /// <summary>Sessions of <paramref name="tenant"/> tracked now, as counted and as found in the table (tests compare them).</summary>
    internal (int Counted, int InTable) SessionsOf(string tenant) =>
        (_tenants.TryGetValue(tenant, out var sessions) ? Volatile.Read(ref sessions.Count) : 0,
         _sessions.Keys.Count(key => TenantOf(key) == tenant));

    /// <summary>Drops every session idle since before <paramref name="idleBefore"/> (for tests).</summary>
    internal void SweepIdle(DateTimeOffset idleBefore) => Sweep(idleBefore, idleBefore);

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
            Sweep(now - settings.SessionIdleExpiry, now - settings.SessionIdleExpiry, forgetBefore: now - settings.Window);
        }

        if (!_sessions.TryGetValue(sessionKey, out var session))
        {
            var tenant = _tenants.GetOrAdd(TenantOf(sessionKey), static _ => new TenantSessions());
            var full = _sessions.Count >= settings.MaxSessions;
            if (full || Volatile.Read(ref tenant.Count) >= settings.MaxSessionsPerTenant)
            {
                // At most one sweep a second: with the table full of live sessions, each new one would otherwise pay a
                // walk over all of them. A tenant past only its own share sweeps only its own sessions.
                ref var lastSweep = ref full ? ref _lastFullSweepTicks : ref tenant.LastSweepTicks;
                var last = Interlocked.Read(ref lastSweep);
                if (now.UtcTicks - last >= TimeSpan.TicksPerSecond && Interlocked.CompareExchange(ref lastSweep, now.UtcTicks, last) == last)
                {
                    Sweep(now - settings.Window, now - settings.SessionIdleExpiry, full ? null : tenant);
                }

                // A capped tenant within its share is tracked even past MaxSessions (memory stays bounded by the
                // configured tenants' shares): other tenants filling the table must not refuse it, nor leave it uncapped.
                if (Volatile.Read(ref tenant.Count) >= settings.MaxSessionsPerTenant
                    || (policy.SessionSpendCapUsd is null && _sessions.Count >= settings.MaxSessions))
                {
                    return Untracked(policy, settings);
                }
            }

            var created = new Session(tenant);
            if (_sessions.TryAdd(sessionKey, created))
            {
                Interlocked.Increment(ref tenant.Count);
                session = created;
            }
            else if (!_sessions.TryGetValue(sessionKey, out session))
            {
                return Check(sessionKey, policy, requestHash, embedding, step);   // added and swept meanwhile
            }
        }

        lock (session)
        {
            if (session.Removed)
            {
                // A sweep dropped it as idle just before this request locked it: look the session up afresh.
                return Check(sessionKey, policy, requestHash, embedding, step);
            }

            session.LastSeen = now;
            if (policy.SessionSpendCapUsd is { } cap && session.Spent >= cap)
            {
                return SessionCapReached(session.Spent, cap);
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

    /// <summary>Sets <paramref name="estimateUsd"/> (the request's worst-case cost) aside against the session's spend cap,
    /// or refuses the request when the session's settled spend, what its requests in flight have set aside and this
    /// estimate would together pass the cap. Every reservation returned must be settled (<see cref="Settle"/>), on
    /// failure paths too; a session with no cap, or one not tracked (see <see cref="LoopGuardOptions.MaxSessions"/>),
    /// gets an empty reservation.</summary>
    public (SessionReservation? Reservation, RouterError? Error) Reserve(string sessionKey, TenantPolicy policy, decimal estimateUsd)
    {
        if (policy.SessionSpendCapUsd is not { } cap)
        {
            return (SessionReservation.None, null);
        }

        if (!_sessions.TryGetValue(sessionKey, out var session))
        {
            // Swept since Check admitted it: without the session its cap cannot hold.
            return (null, Untracked(policy, options.Value));
        }

        lock (session)
        {
            if (session.Removed)
            {
                // Swept between the lookup and the lock: whatever replaced it is the session now.
                return Reserve(sessionKey, policy, estimateUsd);
            }

            if (session.Spent >= cap)
            {
                return (null, SessionCapReached(session.Spent, cap));
            }

            if (session.Spent + session.Reserved + estimateUsd > cap)
            {
                var spent = Usd(session.Spent);
                var reserved = Usd(session.Reserved);
                var estimate = Usd(estimateUsd);
                var capText = Usd(cap);

                // When it is only the requests in flight that stand in the way, a retry once they have settled may pass.
                return session.Spent + estimateUsd <= cap
                    ? (null, new RouterError(402, "insufficient_quota", "budget_exceeded",
                        $"This session has spent ${spent} and its requests in flight may cost up to ${reserved} more; this request could cost up to ${estimate}, "
                        + $"which would pass its cap of ${capText}. Try again once they have finished.",
                        RetryAfter: TimeSpan.FromSeconds(5)))
                    : (null, new RouterError(402, "insufficient_quota", "budget_exceeded",
                        $"This session has spent ${spent}; this request could cost up to ${estimate}, which would pass its cap of ${capText} "
                        + "(a lower max_tokens lowers what a request could cost)."));
            }

            session.Reserved += estimateUsd;
            session.InFlight++;
            return (new SessionReservation(session, estimateUsd), null);
        }
    }

    /// <summary>Replaces a reservation with what the request really cost (0 when it failed before any cost). Only the
    /// first call counts; later ones do nothing.</summary>
    public void Settle(SessionReservation reservation, decimal actualUsd)
    {
        if (reservation.Session is not { } session || Interlocked.Exchange(ref reservation.Settled, 1) == 1)
        {
            return;
        }

        lock (session)
        {
            session.Reserved -= reservation.Amount;
            session.InFlight--;
            session.Spent += Math.Max(0, actualUsd);   // never a credit that would reopen the cap
            session.LastSeen = time.GetUtcNow();
        }
    }

    private static RouterError SessionCapReached(decimal spent, decimal cap) =>
        new(402, "insufficient_quota", "budget_exceeded", $"This session has spent ${Usd(spent)}, its cap of ${cap.ToString("0.##", CultureInfo.InvariantCulture)}.");

    private static string Usd(decimal value) => value.ToString("0.####", CultureInfo.InvariantCulture);

    // A session that cannot be tracked has neither loop guard nor spend cap: where the tenant set a cap, it is refused.
    private static RouterError? Untracked(TenantPolicy policy, LoopGuardOptions settings) => policy.SessionSpendCapUsd is null
        ? null
        : new RouterError(429, "rate_limit_error", "too_many_sessions",
            $"This tenant has too many sessions active on this router instance for this one to be tracked, and without tracking its spend cap could not hold. "
            + $"Reuse a session id (x-session-id), or try again once sessions have been idle for {settings.Window.TotalSeconds:0} s.",
            RetryAfter: settings.Window);

    // Session keys start with the tenant id (see RequestContext.SessionKey).
    private static string TenantOf(string sessionKey) => sessionKey.IndexOf('|', StringComparison.Ordinal) is var bar and >= 0 ? sessionKey[..bar] : sessionKey;

    // Drops sessions idle since before idleBefore, or since before spentIdleBefore for one that has spent money (its cap
    // must hold for SessionIdleExpiry, whatever the pressure on the table), never one with a request in flight. A session
    // kept but quiet since before forgetBefore (the window) lets go of its requests: none of them can count as a repeat
    // any more, and what it must keep for the rest of the hour is its spend.
    private void Sweep(DateTimeOffset idleBefore, DateTimeOffset spentIdleBefore, TenantSessions? only = null, DateTimeOffset? forgetBefore = null)
    {
        foreach (var (key, session) in _sessions)
        {
            if (only is not null && session.Tenant != only)
            {
                continue;
            }

            lock (session)
            {
                // A session with requests in flight is not idle, however long its stream runs: dropping it would forget
                // the money those requests have set aside. Removed under its lock, so a request that finds it afterwards
                // sees the mark rather than reserving against a session no longer in the table.
                if (session.InFlight == 0 && session.LastSeen < (session.Spent > 0 ? spentIdleBefore : idleBefore)
                    && _sessions.TryRemove(KeyValuePair.Create(key, session)))
                {
                    session.Removed = true;
                    Interlocked.Decrement(ref session.Tenant.Count);
                }
                else if (session.LastSeen < forgetBefore)
                {
                    session.Forget();
                }
            }
        }
    }

    private readonly record struct Seen(DateTimeOffset At, ulong Hash, ulong Step, ReadOnlyMemory<float> Embedding);

    private readonly record struct Stamp(DateTimeOffset At, ulong Hash);

    /// <summary>Sessions of one tenant tracked now.</summary>
    internal sealed class TenantSessions
    {
        public int Count;

        public long LastSweepTicks;
    }

    /// <summary>One session's recent requests and its spend; every member is called under the session's lock.</summary>
    internal sealed class Session(TenantSessions tenant)
    {
        /// <summary>Its tenant's count of tracked sessions (changed with interlocked operations, not under the lock).</summary>
        public TenantSessions Tenant { get; } = tenant;

        // Every request within the window, by time and hash only: just the last SimilarityDepth keep their embedding
        // (1.5 KB each at 384 dimensions), since only those are ever compared.
        private readonly Queue<Stamp> _order = new();
        private readonly Dictionary<ulong, Queue<DateTimeOffset>> _byHash = [];
        private Seen[]? _recent;
        private int _recentNext;

        public DateTimeOffset LastSeen { get; set; }

        /// <summary>Dropped from the table by a sweep; a request that still holds it looks the session up again.</summary>
        public bool Removed { get; set; }

        public decimal Spent { get; set; }

        /// <summary>Worst-case costs set aside by the session's requests in flight.</summary>
        public decimal Reserved { get; set; }

        /// <summary>Reservations not settled yet.</summary>
        public int InFlight { get; set; }

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

            if (embedding.Length == 0 || _recent is null)
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
            _order.Enqueue(new Stamp(at, hash));
            if (!_byHash.TryGetValue(hash, out var times))
            {
                _byHash[hash] = times = new Queue<DateTimeOffset>(1);
            }

            times.Enqueue(at);
            _recent ??= new Seen[SimilarityDepth];
            _recent[_recentNext] = new Seen(at, hash, step, embedding);
            _recentNext = (_recentNext + 1) % SimilarityDepth;
        }

        /// <summary>Lets go of every request remembered, with the memory that held them (the session is quiet: all of them
        /// are out of the window).</summary>
        public void Forget()
        {
            if (_recent is null && _order.Count == 0)
            {
                return;
            }

            _order.Clear();
            _order.TrimExcess();
            _byHash.Clear();
            _byHash.TrimExcess();
            _recent = null;
            _recentNext = 0;
        }
    }
}

/// <summary>Money set aside against a session's spend cap for a request in flight, until <see cref="LoopGuard.Settle"/>.</summary>
public sealed class SessionReservation
{
    internal SessionReservation(LoopGuard.Session? session, decimal amount)
    {
        Session = session;
        Amount = amount;
    }

    /// <summary>No reservation: the session has no cap, or is not tracked.</summary>
    internal static SessionReservation None { get; } = new(null, 0);

    internal LoopGuard.Session? Session { get; }

    internal decimal Amount { get; }

    internal int Settled;
}
