namespace Router.Core.Audits;

/// <summary>How many audit jobs this router instance may still queue: a token bucket that holds one minute's allowance
/// (<see cref="AuditOptions.MaxPerMinute"/>) and refills it continuously on <see cref="TimeProvider"/> time, as
/// <see cref="Metering.RequestLimiter"/> refills a key's requests.</summary>
/// <remarks>Not <see cref="Metering.RequestLimiter"/> itself: that one keys buckets by tenant, answers with a 429 and runs
/// on the <see cref="System.Threading.RateLimiting"/> limiters, which read the system clock. This is one bucket that
/// answers yes or no, so a test can drive it with a fake clock. The lock guards a few arithmetic operations; it never
/// waits for anything, so the request that asks is not slowed.</remarks>
internal sealed class AuditAllowance(TimeProvider time)
{
    private readonly Lock _gate = new();
    private long _refilledAt = time.GetTimestamp();
    private double _tokens = double.PositiveInfinity;   // full, whatever the first limit asked with

    /// <summary>Takes one audit from the allowance of <paramref name="perMinute"/> a minute; false when it is spent, or
    /// when no more than <paramref name="reserve"/> audits are left (kept for audits that may use them).</summary>
    public bool TryTake(int perMinute, int reserve = 0)
    {
        lock (_gate)
        {
            var now = time.GetTimestamp();
            var elapsed = time.GetElapsedTime(_refilledAt, now);
            _refilledAt = now;
            _tokens = Math.Min(perMinute, _tokens + (elapsed.Ticks * (double)perMinute / TimeSpan.TicksPerMinute));
            if (_tokens < 1 + reserve)
            {
                return false;
            }

            _tokens--;
            return true;
        }
    }

    /// <summary>Gives back an audit taken with <see cref="TryTake"/> that was not queued after all (the allowance shared
    /// by every instance refused it).</summary>
    public void Return()
    {
        lock (_gate)
        {
            _tokens++;   // never past a minute's allowance: the next TryTake caps it
        }
    }
}
