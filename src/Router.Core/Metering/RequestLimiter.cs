using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.RateLimiting;
using Router.Core.Chat;

namespace Router.Core.Metering;

/// <summary>Requests and tokens per minute per key (<see cref="System.Threading.RateLimiting"/> token buckets refilled continuously).
/// Limits hold per router instance; with N instances a key can reach N times its limit (README, "Limits").</summary>
/// <remarks>
/// The buckets replenish when they are used rather than on a timer: a bucket set to replenish itself runs a timer of its
/// own every 100 ms to 20 s, so 20,000 keys kept a core 14% busy even once they had all gone quiet, and none was ever
/// let go. A bucket that has refilled to its limit is the same as a new one, so the periodic sweep drops those. A request
/// and the sweep take a bucket's lock in turn, so a request never takes its permit from a bucket already let go.
/// </remarks>
public sealed class RequestLimiter : IDisposable
{
    /// <summary>How often, at most, the buckets are swept for full ones (on the request path, on the thread pool).</summary>
    internal static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<(string Key, int Limit, bool Tokens), Bucket> _limiters = new();
    private long _nextSweep = Environment.TickCount64 + (long)SweepInterval.TotalMilliseconds;
    private int _sweeping;

    /// <summary>Buckets held (tests).</summary>
    internal int Count => _limiters.Count;

    /// <summary>The lock a request and the sweep take on the request bucket of <paramref name="partition"/> (tests).</summary>
    internal object RequestBucketLock(string partition, int limit) => _limiters.GetOrAdd((partition, limit, false), key => new Bucket(PerMinute(key.Limit)));

    /// <summary>Takes one request and <paramref name="tokens"/> tokens from the caller's allowance, or returns a 429.</summary>
    public RouterError? TryAcquire(TenantPolicy policy, Caller caller, int tokens) =>
        TryAcquireRequest(policy, caller) ?? TryAcquireTokens(policy, caller, tokens);

    /// <summary>Takes one request from the caller's allowance, or returns a 429. It needs nothing from the analysis, so the
    /// pipeline asks it first: a key past its limit does not cost the router an analysis (or an embedding) per request.</summary>
    public RouterError? TryAcquireRequest(TenantPolicy policy, Caller caller)
    {
        if ((caller.Limits?.RequestsPerMinute ?? policy.RequestsPerMinute) is { } rpm
            && Acquire(PartitionOf(caller), rpm, tokens: false, 1) is { } requestWait)
        {
            return Limited($"Rate limit of {rpm} requests per minute reached.", requestWait);
        }

        return null;
    }

    /// <summary>Takes <paramref name="tokens"/> tokens (the analysis's prompt and expected output) from the caller's
    /// allowance, or returns a 429.</summary>
    public RouterError? TryAcquireTokens(TenantPolicy policy, Caller caller, int tokens)
    {
        if ((caller.Limits?.TokensPerMinute ?? policy.TokensPerMinute) is { } tpm
            && Acquire(PartitionOf(caller), tpm, tokens: true, Math.Clamp(tokens, 1, tpm)) is { } tokenWait)
        {
            return Limited($"Rate limit of {tpm} tokens per minute reached.", tokenWait);
        }

        return null;
    }

    private static string PartitionOf(Caller caller) => caller.LimitsScope ?? "tenant:" + caller.TenantId;

    private TimeSpan? Acquire(string partition, int limit, bool tokens, int permits)
    {
        SweepIfDue();
        while (true)
        {
            var bucket = _limiters.GetOrAdd((partition, limit, tokens), key => new Bucket(PerMinute(key.Limit)));
            lock (bucket)
            {
                if (bucket.Retired)
                {
                    continue;   // let go of by the sweep after this request found it: the key has a new one
                }

                bucket.Limiter.TryReplenish();
                using var lease = bucket.Limiter.AttemptAcquire(permits);
                if (lease.IsAcquired)
                {
                    return null;
                }

                return lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(10);
            }
        }
    }

    private void SweepIfDue()
    {
        var now = Environment.TickCount64;
        if (now < Volatile.Read(ref _nextSweep) || Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return;
        }

        Volatile.Write(ref _nextSweep, now + (long)SweepInterval.TotalMilliseconds);
        ThreadPool.UnsafeQueueUserWorkItem(static self =>
        {
            try
            {
                self.Sweep();
            }
            finally
            {
                Volatile.Write(ref self._sweeping, 0);
            }
        }, this, preferLocal: false);
    }

    /// <summary>Drops every bucket that has refilled to its limit.</summary>
    internal void Sweep()
    {
        foreach (var (key, bucket) in _limiters)
        {
            lock (bucket)
            {
                bucket.Limiter.TryReplenish();

                // Not disposed: with no timer there is nothing to free.
                if (bucket.Limiter.IdleDuration is not null)
                {
                    bucket.Retired = true;
                    _limiters.TryRemove(new KeyValuePair<(string, int, bool), Bucket>(key, bucket));
                }
            }
        }
    }

    // A token bucket that holds one minute's allowance and refills it continuously (replenished when used, by the time
    // elapsed since it last was). Unlike a sliding window, whose lease carries no retry hint, it knows when the permits a
    // refused request needs come back: that is its Retry-After.
    private static TokenBucketRateLimiter PerMinute(int limit)
    {
        var step = (int)Math.Ceiling(limit / 600.0);
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = limit,
            TokensPerPeriod = step,
            ReplenishmentPeriod = TimeSpan.FromTicks(TimeSpan.TicksPerMinute * step / limit),
            QueueLimit = 0,
            AutoReplenishment = false,
        });
    }

    private sealed class Bucket(TokenBucketRateLimiter limiter)
    {
        public TokenBucketRateLimiter Limiter { get; } = limiter;

        public bool Retired { get; set; }
    }

    private static RouterError Limited(string message, TimeSpan retryAfter) =>
        new(429, "rate_limit_error", "rate_limit_exceeded",
            message + " Retry after " + Math.Ceiling(retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture) + " s.", RetryAfter: retryAfter);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var bucket in _limiters.Values)
        {
            bucket.Limiter.Dispose();
        }
    }
}
