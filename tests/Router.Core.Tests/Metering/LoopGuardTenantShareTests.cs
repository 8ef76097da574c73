using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Metering;

namespace Router.Core.Tests.Metering;

public sealed class LoopGuardTenantShareTests
{
    private static readonly TenantPolicy Capped = new() { TenantId = "t", SessionSpendCapUsd = 1m };
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));

    private LoopGuard Guard(int maxSessions = 100, int perTenant = 40) => new(Options.Create(new LoopGuardOptions
    {
        MaxRepeats = 3, Window = TimeSpan.FromMinutes(1), SessionIdleExpiry = TimeSpan.FromHours(1), MaxSessions = maxSessions, MaxSessionsPerTenant = perTenant,
    }), _time);

    private static void Spend(LoopGuard guard, string key, decimal usd)
    {
        Assert.Null(guard.Check(key, Capped, 1, default));
        var (held, error) = guard.Reserve(key, Capped, usd);
        Assert.Null(error);
        guard.Settle(held!, usd);
    }

    // With no pressure, a spent session stays capped for SessionIdleExpiry (1 h), not just the window.
    [Fact]
    public void A_spent_session_stays_capped_after_two_idle_minutes()
    {
        var guard = Guard();
        Spend(guard, "quiet|s|agent", 1m);
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal("budget_exceeded", guard.Check("quiet|s|agent", Capped, 2, default)?.Code);
    }

    // Another tenant reaching only its own share sweeps only its own idle sessions: a quiet tenant's spent session is not
    // forgotten after 2 idle minutes (its spend cap would start again from 0).
    [Fact]
    public void A_flooding_tenant_at_its_own_share_does_not_reset_another_tenants_spend_cap()
    {
        var guard = Guard();
        Spend(guard, "quiet|s|agent", 1m);
        _time.Advance(TimeSpan.FromMinutes(2));

        for (var i = 0; i <= 40; i++)   // the 41st hits the flooder's share (global table is at 41 of 100)
        {
            guard.Check($"flood|s|invented-{i}", Capped with { SessionSpendCapUsd = null }, (ulong)i, default);
        }

        Assert.Equal("budget_exceeded", guard.Check("quiet|s|agent", Capped, 2, default)?.Code);
    }

    // MaxSessions / MaxSessionsPerTenant (4 by default) flooding tenants fill the global table; a capped tenant within its
    // share is still tracked, neither refused with 429 nor let through uncapped.
    [Fact]
    public void Flooding_tenants_filling_the_global_table_do_not_refuse_a_quiet_capped_tenant()
    {
        var guard = Guard(maxSessions: 100, perTenant: 25);
        for (var t = 0; t < 4; t++)
        {
            for (var i = 0; i < 25; i++)
            {
                Assert.Null(guard.Check($"flood{t}|s|invented-{i}", Capped with { SessionSpendCapUsd = null }, (ulong)i, default));
            }
        }

        Assert.Null(guard.Check("quiet|s|agent", Capped, 1, default));
    }

    // Uncapped tenants filling the table make it sweep sessions idle past the window, but not one that has spent money:
    // its cap holds for SessionIdleExpiry, as without the pressure.
    [Fact]
    public void A_full_table_does_not_forget_another_tenants_session_spend_before_its_idle_expiry()
    {
        var guard = Guard(maxSessions: 100, perTenant: 25);
        Spend(guard, "quiet|s|agent", 1m);
        _time.Advance(TimeSpan.FromMinutes(2));
        for (var t = 0; t < 4; t++)
        {
            for (var i = 0; i < 25; i++)
            {
                guard.Check($"flood{t}|s|invented-{i}", Capped with { SessionSpendCapUsd = null }, (ulong)i, default);
            }
        }

        Assert.Equal("budget_exceeded", guard.Check("quiet|s|agent", Capped, 2, default)?.Code);

        // Past its idle expiry it goes like any other.
        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1));
        Assert.Null(guard.Check("late|s|newcomer", Capped with { SessionSpendCapUsd = null }, 1, default));
        Assert.Null(guard.Check("quiet|s|agent", Capped, 3, default));
    }

    // A capped session admitted by Check but swept before Reserve (a lookup slower than the window under table pressure)
    // is refused, not given an empty reservation that would let a $100 worst case pass a $1 cap.
    [Fact]
    public void Reserve_for_a_capped_session_no_longer_tracked_does_not_let_the_request_through_uncapped()
    {
        var guard = Guard(maxSessions: 2, perTenant: 2);
        Assert.Null(guard.Check("quiet|s|agent", Capped, 1, default));
        Assert.Null(guard.Check("other|s|x", Capped, 1, default));
        _time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(2));   // e.g. a slow cache lookup between Admit and Reserve
        Assert.Null(guard.Check("other|s|y", Capped, 1, default));          // table full: the window sweep drops quiet|s|agent

        var (reservation, error) = guard.Reserve("quiet|s|agent", Capped, 100m);
        Assert.True(error is not null || reservation?.Session is not null, "a $100 request passed a $1 cap with an empty reservation");
    }

    // A per-tenant bound above the global one would be meaningless: validation refuses it.
    [Fact]
    public void Validation_refuses_a_per_tenant_bound_above_the_global_one()
    {
        var options = new LoopGuardOptions { MaxSessions = 1_000, MaxSessionsPerTenant = 5_000 };
        var results = new List<ValidationResult>();
        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true));
    }

    // Drift: threads adding, reserving, settling and a thread advancing time (sweeps every 4096 checks and under
    // pressure). At the end every tenant's count must equal its sessions in the table, and a full sweep must bring all to 0.
    [Fact]
    public async Task Per_tenant_counts_do_not_drift_under_concurrency()
    {
        var guard = new LoopGuard(Options.Create(new LoopGuardOptions
        {
            MaxRepeats = 1_000, Window = TimeSpan.FromSeconds(1), SessionIdleExpiry = TimeSpan.FromMinutes(1), MaxSessions = 300, MaxSessionsPerTenant = 120,
        }), _time);
        var run = System.Diagnostics.Stopwatch.StartNew();
        var refusedSomeTime = 0;

        // Three seconds, and on a machine too loaded for the workers to reach a tenant's cap by then, on until one has
        // (at most 30 s): the race is only tested once the cap refuses.
        bool Running() => run.Elapsed < TimeSpan.FromSeconds(3)
            || (Volatile.Read(ref refusedSomeTime) == 0 && run.Elapsed < TimeSpan.FromSeconds(30));
        var workers = Enumerable.Range(0, 4).Select(w => Task.Factory.StartNew(() =>
        {
            var random = new Random(w);
            while (Running())
            {
                var key = $"tenant{random.Next(4)}|s|{random.Next(400)}";
                var policy = random.Next(2) == 0 ? Capped with { SessionSpendCapUsd = 1_000_000m } : Capped with { SessionSpendCapUsd = null };
                if (guard.Check(key, policy, (ulong)random.Next(), default) is { Code: "too_many_sessions" })
                {
                    Interlocked.Increment(ref refusedSomeTime);
                }
                else if (policy.SessionSpendCapUsd is not null && guard.Reserve(key, policy, 0.01m).Reservation is { } held)
                {
                    guard.Settle(held, 0.01m);
                }
            }
        }, TaskCreationOptions.LongRunning)).ToList();
        workers.Add(Task.Factory.StartNew(() =>
        {
            while (Running())
            {
                // The fake clock moves on while the workers run: windows pass and sweeps happen between their calls.
                _time.Advance(TimeSpan.FromMilliseconds(50));
                Thread.SpinWait(20_000);
            }
        }, TaskCreationOptions.LongRunning));
        await Task.WhenAll(workers);

        for (var t = 0; t < 4; t++)
        {
            var (counted, inTable) = guard.SessionsOf($"tenant{t}");
            Assert.Equal(inTable, counted);
        }

        _time.Advance(TimeSpan.FromHours(2));
        guard.SweepIdle(_time.GetUtcNow());
        Assert.Equal(0, guard.SessionCount);
        for (var t = 0; t < 4; t++)
        {
            Assert.Equal((0, 0), guard.SessionsOf($"tenant{t}"));
        }

        Assert.True(refusedSomeTime > 0);
    }
}
