using System.Globalization;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Metering;

namespace Router.Core.Tests.Metering;

public sealed class LoopGuardTests
{
    private static readonly TenantPolicy Policy = new() { TenantId = "t" };
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
    private readonly LoopGuard _guard;

    public LoopGuardTests() =>
        _guard = new LoopGuard(Options.Create(new LoopGuardOptions { MaxRepeats = 3, Window = TimeSpan.FromMinutes(1) }), _time);

    private static float[] Direction(int axis, float wobble = 0)
    {
        var vector = new float[8];
        vector[axis] = 1;
        vector[(axis + 1) % 8] = wobble;
        return vector;
    }

    [Fact]
    public void The_request_after_the_allowed_exact_repeats_is_refused_with_a_retry_hint()
    {
        for (var i = 0; i < 3; i++)
        {
            Assert.Null(_guard.Check("s", Policy, 42, default));
            _time.Advance(TimeSpan.FromSeconds(10));
        }

        var refused = _guard.Check("s", Policy, 42, default);
        Assert.NotNull(refused);
        Assert.Equal(429, refused.Status);
        Assert.Equal("loop_detected", refused.Code);
        Assert.Equal(TimeSpan.FromSeconds(30), refused.RetryAfter);   // the first repeat leaves the window 60 s after it was seen
        Assert.Null(_guard.Check("other-session", Policy, 42, default));
    }

    [Fact]
    public void Repeats_leave_the_window_and_the_session_may_go_on()
    {
        for (var i = 0; i < 3; i++)
        {
            Assert.Null(_guard.Check("s", Policy, 7, default));
        }

        Assert.NotNull(_guard.Check("s", Policy, 7, default));
        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.Null(_guard.Check("s", Policy, 7, default));
    }

    [Fact]
    public void Near_identical_prompts_count_as_repeats_and_different_ones_do_not()
    {
        Assert.Null(_guard.Check("s", Policy, 1, Direction(0)));
        Assert.Null(_guard.Check("s", Policy, 2, Direction(0, 0.05f)));
        Assert.Null(_guard.Check("s", Policy, 3, Direction(4)));
        Assert.Null(_guard.Check("s", Policy, 4, Direction(0, 0.1f)));
        Assert.NotNull(_guard.Check("s", Policy, 5, Direction(0, 0.02f)));
        Assert.Null(_guard.Check("s", Policy, 6, Direction(5)));
    }

    [Fact]
    public void A_loop_inside_a_busy_session_is_still_caught()
    {
        // A shared key carries thousands of distinct requests; the loop among them is found all the same.
        for (var i = 0; i < 50_000; i++)
        {
            Assert.Null(_guard.Check("key", Policy, (ulong)(1_000 + i), default));
            if (i >= 45_000 && i % 2_000 == 1_000)
            {
                Assert.Null(_guard.Check("key", Policy, 9, default));
            }
        }

        Assert.NotNull(_guard.Check("key", Policy, 9, default));
    }

    [Fact]
    public void A_session_spend_cap_refuses_once_reached()
    {
        var capped = Policy with { SessionSpendCapUsd = 0.5m };
        Assert.Null(_guard.Check("s", capped, 1, default));
        var (reservation, _) = _guard.Reserve("s", capped, 0.3m);
        _guard.Settle(reservation!, 0.6m);   // a provider may bill past the estimate
        var refused = _guard.Check("s", capped, 2, default);
        Assert.NotNull(refused);
        Assert.Equal(402, refused.Status);
        Assert.Equal("budget_exceeded", refused.Code);
        Assert.True(refused.RetryIsFutile);
    }

    [Fact]
    public void Concurrent_requests_of_a_session_reserve_their_worst_case_and_stop_before_the_cap()
    {
        var capped = Policy with { SessionSpendCapUsd = 1m };
        Assert.Null(_guard.Check("s", capped, 1, default));

        // Nothing is settled yet: the third request in flight would take the session past its cap.
        var (first, _) = _guard.Reserve("s", capped, 0.4m);
        var (second, _) = _guard.Reserve("s", capped, 0.4m);
        var (third, refused) = _guard.Reserve("s", capped, 0.4m);

        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.Null(third);
        Assert.Equal((402, "insufficient_quota", "budget_exceeded"), (refused!.Status, refused.Type, refused.Code));
        // Only requests in flight stand in the way: once they settle a retry may pass, and the client is told so.
        Assert.True(refused.RetryWillHelp);

        // Settled at what it really cost, the first request gives back the rest of its reservation.
        _guard.Settle(first!, 0.1m);
        var (fourth, _) = _guard.Reserve("s", capped, 0.4m);
        Assert.NotNull(fourth);
        Assert.NotNull(_guard.Reserve("s", capped, 0.15m).Error);
    }

    [Fact]
    public void A_request_whose_worst_case_alone_passes_the_cap_is_refused_for_good()
    {
        var capped = Policy with { SessionSpendCapUsd = 0.5m };
        Assert.Null(_guard.Check("s", capped, 1, default));

        var (reservation, refused) = _guard.Reserve("s", capped, 0.6m);

        Assert.Null(reservation);
        Assert.Equal("budget_exceeded", refused!.Code);
        Assert.True(refused.RetryIsFutile);
        Assert.Contains("max_tokens", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_reservation_settled_at_zero_after_a_failure_gives_the_whole_amount_back_and_settles_only_once()
    {
        var capped = Policy with { SessionSpendCapUsd = 1m };
        Assert.Null(_guard.Check("s", capped, 1, default));
        var (failed, _) = _guard.Reserve("s", capped, 0.6m);

        _guard.Settle(failed!, 0m);
        _guard.Settle(failed!, 0.6m);   // a second settlement of the same reservation changes nothing

        var (next, error) = _guard.Reserve("s", capped, 0.9m);
        Assert.Null(error);
        Assert.NotNull(next);
    }

    [Fact]
    public void A_session_with_a_request_in_flight_is_not_swept_and_forgets_nothing()
    {
        var guard = new LoopGuard(Options.Create(new LoopGuardOptions { MaxRepeats = 3, Window = TimeSpan.FromMinutes(1), MaxSessions = 1, MaxSessionsPerTenant = 1 }), _time);
        var capped = Policy with { SessionSpendCapUsd = 1m };
        Assert.Null(guard.Check("t|s|long-stream", capped, 1, default));
        var (streaming, _) = guard.Reserve("t|s|long-stream", capped, 0.9m);

        // The table is full and the session idle past the window, but its stream is still running. The newcomer cannot
        // be tracked, so its cap could not hold: it is refused rather than let through uncapped.
        _time.Advance(TimeSpan.FromMinutes(5));
        var refused = guard.Check("t|s|newcomer", capped, 2, default);
        Assert.Equal("too_many_sessions", refused?.Code);
        Assert.Equal(429, refused!.Status);
        Assert.Equal(TimeSpan.FromMinutes(1), refused.RetryAfter);
        Assert.Null(guard.Check("t|s|newcomer", Policy, 2, default));   // without a cap it goes untracked
        Assert.Equal(1, guard.SessionCount);
        Assert.NotNull(guard.Reserve("t|s|long-stream", capped, 0.2m).Error);

        guard.Settle(streaming!, 1m);
        Assert.Equal("budget_exceeded", guard.Check("t|s|long-stream", capped, 3, default)?.Code);
    }

    [Fact]
    public void A_client_inventing_a_session_per_request_cannot_grow_the_tracked_sessions_past_the_bound()
    {
        var guard = new LoopGuard(Options.Create(new LoopGuardOptions { MaxRepeats = 3, Window = TimeSpan.FromMinutes(1), MaxSessions = 100 }), _time);

        for (var i = 0; i < 1_000; i++)
        {
            Assert.Null(guard.Check($"tenant|s|invented-{i}", Policy, (ulong)i, default));
        }

        Assert.Equal(100, guard.SessionCount);

        // Once the tracked sessions have been idle past the window, new ones take their places.
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(guard.Check("tenant|s|real", Policy, 1, default));
        Assert.Equal(1, guard.SessionCount);
        for (var i = 0; i < 3; i++)
        {
            Assert.Null(guard.Check("tenant|s|real", Policy, 7, default));
        }

        Assert.Equal("loop_detected", guard.Check("tenant|s|real", Policy, 7, default)?.Code);
    }

    [Fact]
    public void A_tenant_inventing_sessions_cannot_leave_another_tenants_new_sessions_untracked()
    {
        var guard = new LoopGuard(Options.Create(new LoopGuardOptions { MaxRepeats = 3, Window = TimeSpan.FromMinutes(1), MaxSessions = 100, MaxSessionsPerTenant = 40 }), _time);
        for (var i = 0; i < 1_000; i++)
        {
            Assert.Null(guard.Check($"flood|s|invented-{i}", Policy, (ulong)i, default));
        }

        Assert.Equal(40, guard.SessionCount);

        // Another tenant's agent still has its loop caught, and its cap held.
        var capped = Policy with { SessionSpendCapUsd = 1m };
        for (var i = 0; i < 3; i++)
        {
            Assert.Null(guard.Check("quiet|s|agent", capped, 7, default));
        }

        Assert.Equal("loop_detected", guard.Check("quiet|s|agent", capped, 7, default)?.Code);
        var (held, _) = guard.Reserve("quiet|s|agent", capped, 0.6m);
        Assert.NotNull(held);
        Assert.Equal("budget_exceeded", guard.Reserve("quiet|s|agent", capped, 0.6m).Error?.Code);
        guard.Settle(held, 0.6m);

        // The flooding tenant's own capped sessions are refused past its share, not let through uncapped.
        Assert.Equal("too_many_sessions", guard.Check("flood|s|capped", capped, 1, default)?.Code);

        // Once its sessions have been idle past the window, its share is free again.
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(guard.Check("flood|s|capped", capped, 1, default));
        Assert.Equal(2, guard.SessionCount);   // the flood's sessions are swept, not the quiet tenant's
        for (var i = 0; i < 39; i++)
        {
            Assert.Null(guard.Check($"flood|s|again-{i}", Policy, (ulong)i, default));
        }

        Assert.Equal(41, guard.SessionCount);
        Assert.Equal("too_many_sessions", guard.Check("flood|s|one-more", capped, 1, default)?.Code);
    }

    [Fact]
    public void The_same_task_with_new_tool_results_each_round_is_progress_and_the_same_step_again_is_a_loop()
    {
        var task = Direction(2);

        // An agent's rounds: one task (one embedding), a new body and a new tool step every time.
        for (var round = 0; round < 10; round++)
        {
            Assert.Null(_guard.Check("agent", Policy, (ulong)(1000 + round), task, step: (ulong)(50 + round)));
        }

        // The same step sent again and again, its body growing each time: an agent stuck in a loop.
        for (var round = 0; round < 3; round++)
        {
            Assert.Null(_guard.Check("stuck", Policy, (ulong)(2000 + round), task, step: 77));
        }

        Assert.Equal("loop_detected", _guard.Check("stuck", Policy, 2003, task, step: 77)?.Code);
    }
}
