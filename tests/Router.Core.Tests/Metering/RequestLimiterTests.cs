using Router.Core.Chat;
using Router.Core.Metering;

namespace Router.Core.Tests.Metering;

public sealed class RequestLimiterTests
{
    [Fact]
    public void A_refused_request_is_told_when_its_next_permit_comes_back_not_a_fixed_guess()
    {
        using var limiter = new RequestLimiter();
        var policy = TenantPolicy.Default("acme") with { RequestsPerMinute = 3 };
        var caller = new Caller("acme", "key-1");

        var answers = Enumerable.Range(0, 4).Select(_ => limiter.TryAcquire(policy, caller, tokens: 10)).ToList();

        Assert.All(answers.Take(3), Assert.Null);
        var refused = Assert.IsType<RouterError>(answers[3]);
        Assert.Equal(429, refused.Status);
        Assert.Equal("rate_limit_exceeded", refused.Code);
        // Three a minute come back one every 20 s: the hint is that wait, not the 10 s it used to be whatever the limit.
        Assert.InRange(refused.RetryAfter!.Value, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public void A_token_limit_hint_covers_the_tokens_the_request_needs()
    {
        using var limiter = new RequestLimiter();
        var policy = TenantPolicy.Default("acme") with { TokensPerMinute = 6_000 };
        var caller = new Caller("acme", "key-2");

        Assert.Null(limiter.TryAcquire(policy, caller, tokens: 6_000));
        var refused = limiter.TryAcquire(policy, caller, tokens: 3_000);

        // 6,000 a minute refill at 100 a second: 3,000 tokens are back in about 30 s.
        Assert.InRange(Assert.IsType<RouterError>(refused).RetryAfter!.Value, TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(31));
    }

    [Fact]
    public void Keys_have_their_own_allowance()
    {
        using var limiter = new RequestLimiter();
        var policy = TenantPolicy.Default("acme") with { RequestsPerMinute = 1 };

        Assert.Null(limiter.TryAcquire(policy, new Caller("acme", "key-a"), 1));
        Assert.NotNull(limiter.TryAcquire(policy, new Caller("acme", "key-a"), 1));
        Assert.Null(limiter.TryAcquire(policy, new Caller("acme", "key-b"), 1));
    }

    [Fact]
    public void The_request_check_before_analysis_takes_no_tokens_and_the_token_check_after_it_takes_no_request()
    {
        using var limiter = new RequestLimiter();
        var policy = TenantPolicy.Default("acme") with { RequestsPerMinute = 2, TokensPerMinute = 100 };
        var caller = new Caller("acme", "key-3");

        Assert.Null(limiter.TryAcquireRequest(policy, caller));
        Assert.Null(limiter.TryAcquireTokens(policy, caller, 100));   // the request permit took none of the 100 tokens
        Assert.Equal("Rate limit of 100 tokens per minute reached.", limiter.TryAcquireTokens(policy, caller, 1)!.Message.Split(" Retry")[0]);
        Assert.Null(limiter.TryAcquireRequest(policy, caller));        // nor did the token checks take request permits
        Assert.NotNull(limiter.TryAcquireRequest(policy, caller));
    }

    [Fact]
    public void A_drained_bucket_refills_with_no_timer_behind_it()
    {
        using var limiter = new RequestLimiter();
        var policy = TenantPolicy.Default("acme") with { TokensPerMinute = 6_000_000 };
        var caller = new Caller("acme", "key-4");
        Assert.Null(limiter.TryAcquireTokens(policy, caller, 6_000_000));
        Assert.NotNull(limiter.TryAcquireTokens(policy, caller, 6_000_000));

        // 6 million a minute is 100 a millisecond: the bucket, replenished when it is used, soon has 1,000 back.
        Assert.True(SpinWait.SpinUntil(() => limiter.TryAcquireTokens(policy, caller, 1_000) is null, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void The_sweep_lets_go_of_buckets_that_refilled_and_keeps_those_still_drained()
    {
        using var limiter = new RequestLimiter();
        var busy = TenantPolicy.Default("acme") with { RequestsPerMinute = 600_000 };
        for (var i = 0; i < 1_000; i++)
        {
            Assert.Null(limiter.TryAcquireRequest(busy, new Caller("acme", "key-" + i)));
        }

        var drained = TenantPolicy.Default("acme") with { RequestsPerMinute = 2 };
        var heavy = new Caller("acme", "heavy");
        Assert.Null(limiter.TryAcquireRequest(drained, heavy));
        Assert.Null(limiter.TryAcquireRequest(drained, heavy));
        Assert.Equal(1_001, limiter.Count);

        // 600,000 a minute gives the permit taken back within a millisecond; 2 a minute takes 30 s a permit.
        Assert.True(SpinWait.SpinUntil(() =>
        {
            limiter.Sweep();
            return limiter.Count == 1;
        }, TimeSpan.FromSeconds(10)));
        Assert.NotNull(limiter.TryAcquireRequest(drained, heavy));
        Assert.Null(limiter.TryAcquireRequest(busy, new Caller("acme", "key-7")));
    }

    [Fact]
    public void A_burst_that_meets_the_sweep_is_held_to_the_limit()
    {
        using var limiter = new RequestLimiter();
        var policy = TenantPolicy.Default("acme") with { RequestsPerMinute = 5 };
        var caller = new Caller("acme", "key-5");
        Assert.Null(limiter.TryAcquireRequest(policy, new Caller("acme", "warm-up")));   // the request path, compiled

        // The key's bucket, new and full, as a quiet key has it. The test holds its lock, so a burst of the key's requests
        // has each found the bucket and waits to take a permit from it when the sweep lets it go: the order a sweep and a
        // burst can run in, without relying on a thread's timing.
        var bucketLock = limiter.RequestBucketLock("key-5", 5);
        const int burst = 4;
        var answers = new RouterError?[burst];
        var threads = Enumerable.Range(0, burst).Select(i => new Thread(() => answers[i] = limiter.TryAcquireRequest(policy, caller))).ToList();
        Monitor.Enter(bucketLock);
        try
        {
            var contentions = Monitor.LockContentionCount;
            threads.ForEach(t => t.Start());
            Assert.True(SpinWait.SpinUntil(
                () => Monitor.LockContentionCount - contentions >= burst && threads.All(t => t.ThreadState.HasFlag(ThreadState.WaitSleepJoin)),
                TimeSpan.FromSeconds(10)));
            limiter.Sweep();   // the bucket is full, so it is let go of (the test's lock is re-entrant)
        }
        finally
        {
            Monitor.Exit(bucketLock);
        }

        threads.ForEach(t => t.Join());
        var admitted = answers.Count(a => a is null);
        while (admitted < 100 && limiter.TryAcquireRequest(policy, caller) is null)
        {
            admitted++;
        }

        // The burst took its permits from the key's new bucket, not from the one let go of: 5 in all, not 4 + 5.
        Assert.Equal(5, admitted);
    }
}
