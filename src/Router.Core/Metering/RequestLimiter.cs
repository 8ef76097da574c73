using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.RateLimiting;
using Router.Core.Chat;

namespace Router.Core.Metering;

/// <summary>Requests and tokens per minute per key (<see cref="System.Threading.RateLimiting"/> token buckets refilled continuously).
/// Limits hold per router instance; with N instances a key can reach N times its limit (README, "Limits").</summary>
public sealed class RequestLimiter : IDisposable
{
    private readonly ConcurrentDictionary<(string Key, int Limit, bool Tokens), RateLimiter> _limiters = new();

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
        var limiter = _limiters.GetOrAdd((partition, limit, tokens), key => PerMinute(key.Limit));
        using var lease = limiter.AttemptAcquire(permits);
        if (lease.IsAcquired)
        {
            return null;
        }

        return lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(10);
    }

    // A token bucket that holds one minute's allowance and refills it continuously, in the smallest whole step that keeps
    // refills at least 100 ms apart (3 a minute: 1 every 20 s; 1,000: 2 every 120 ms). Unlike a sliding window, whose
    // lease carries no retry hint, it knows when the permits a refused request needs come back: that is its Retry-After.
    private static TokenBucketRateLimiter PerMinute(int limit)
    {
        var step = (int)Math.Ceiling(limit / 600.0);
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = limit,
            TokensPerPeriod = step,
            ReplenishmentPeriod = TimeSpan.FromTicks(TimeSpan.TicksPerMinute * step / limit),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    private static RouterError Limited(string message, TimeSpan retryAfter) =>
        new(429, "rate_limit_error", "rate_limit_exceeded",
            message + " Retry after " + Math.Ceiling(retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture) + " s.", RetryAfter: retryAfter);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var limiter in _limiters.Values)
        {
            limiter.Dispose();
        }
    }
}
