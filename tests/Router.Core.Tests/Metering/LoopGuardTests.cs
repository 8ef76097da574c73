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
        _guard.AddSpend("s", 0.6m);
        var refused = _guard.Check("s", capped, 2, default);
        Assert.NotNull(refused);
        Assert.Equal(402, refused.Status);
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
