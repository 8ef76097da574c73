using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Audits;
using Router.Core.Telemetry;
using Router.Core.Tests.Execution;

namespace Router.Core.Tests.Audits;

/// <summary>Router:Audits:MaxPerMinute held across instances that share an allowance store.</summary>
public sealed class SharedAuditAllowanceTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly MemoryAllowanceStore _store = new();

    private AuditSampler Sampler(int perMinute, IAuditAllowanceStore? store = null, FakeLogger<AuditSampler>? logger = null, TimeProvider? time = null) =>
        new(Options.Create(new AuditOptions { MaxPerMinute = perMinute }), time ?? _time, new RouterTelemetry(new TestMeterFactory()),
            logger ?? new FakeLogger<AuditSampler>(), store ?? _store);

    // Each answer is decided after the lease the one before asked for is in, as on instances whose audits are further
    // apart than a round-trip to the store.
    private static async Task<int> AdmittedAsync(string reason, int rounds, params AuditSampler[] samplers)
    {
        var admitted = 0;
        for (var i = 0; i < rounds; i++)
        {
            foreach (var sampler in samplers)
            {
                admitted += sampler.Admit(reason) ? 1 : 0;
                await sampler.Leasing;
            }
        }

        return admitted;
    }

    [Fact]
    public async Task Two_instances_together_queue_no_more_than_the_cap_a_minute_and_keep_its_last_fifth_for_probes()
    {
        using var a = Sampler(30);
        using var b = Sampler(30);

        for (var minute = 0; minute < 3; minute++)
        {
            if (minute > 0)
            {
                _time.Advance(TimeSpan.FromMinutes(1));
            }

            // Each instance alone would queue 24 sampled audits; together they queue the cap's first four fifths.
            Assert.Equal(24, await AdmittedAsync(AuditReasons.Sampled, 30, a, b));
            Assert.Equal(6, await AdmittedAsync(AuditReasons.Probe, 10, a, b));
            Assert.Equal(0, await AdmittedAsync(AuditReasons.Rule, 5, a, b));
            Assert.Equal(30, _store.Taken(_time.GetUtcNow()));
        }
    }

    [Fact]
    public async Task Lightly_used_instances_do_not_tie_up_the_cap_that_a_busy_one_needs()
    {
        // Scaled out: one instance carries the risky traffic (40 answers a minute to audit) and seven others audit once a
        // minute each, spread over it. Leases sized by what each instance asks for leave the busy one most of the cap.
        using var busy = Sampler(30);
        var light = Enumerable.Range(0, 7).Select(_ => Sampler(30)).ToArray();
        try
        {
            for (var minute = 0; minute < 4; minute++)
            {
                if (minute > 0)
                {
                    _time.Advance(TimeSpan.FromMinutes(1));
                    foreach (var sampler in light.Append(busy))
                    {
                        await sampler.Leasing;
                    }
                }

                var (busyAdmitted, lightAdmitted) = (0, 0);
                for (var i = 0; i < 40; i++)
                {
                    busyAdmitted += await AdmittedAsync(AuditReasons.Sampled, 1, busy);
                    if (i % 5 == 2 && i / 5 < light.Length)
                    {
                        lightAdmitted += await AdmittedAsync(AuditReasons.Sampled, 1, light[i / 5]);
                    }
                }

                Assert.InRange(busyAdmitted + lightAdmitted, 0, 30);
                Assert.InRange(_store.Taken(_time.GetUtcNow()), 0, 30);
                if (minute > 0)
                {
                    // Past the first minute the busy instance gets the sampled four fifths but for what the light ones
                    // ask for: each leases what it asked for in the minute before, one audit, and spends it.
                    Assert.Equal(17, busyAdmitted);
                    Assert.Equal(7, lightAdmitted);
                }
            }
        }
        finally
        {
            foreach (var sampler in light)
            {
                sampler.Dispose();
            }
        }
    }

    [Fact]
    public async Task The_first_audit_with_no_lease_answered_is_admitted_on_credit_the_next_refused_at_once_and_the_lease_pays()
    {
        var store = new GatedStore(_store);
        using var sampler = Sampler(30, store);

        Assert.True(sampler.Admit(AuditReasons.Sampled));    // on credit: the minute's first, nothing leased yet
        Assert.False(sampler.Leasing.IsCompleted);
        Assert.False(sampler.Admit(AuditReasons.Sampled));   // one a minute: refused while the lease is out, not kept waiting

        // One audit: what the instance asked for in the minute before, at least one; it pays for the audit on credit.
        store.Open.SetResult();
        await sampler.Leasing;
        Assert.Equal(1, _store.Taken(_time.GetUtcNow()));
        Assert.False(sampler.Admit(AuditReasons.Sampled));
        await sampler.Leasing;
        Assert.True(sampler.Admit(AuditReasons.Sampled));
        Assert.Equal(3, _store.Taken(_time.GetUtcNow()));   // and the next lease twice the one before
    }

    [Fact]
    public async Task An_instance_that_audits_less_than_once_a_minute_has_each_audit_admitted_and_paid_for()
    {
        // Light traffic: an answer to audit every other minute. The minute after each is leased as it starts (the
        // instance asked in the one before) and goes unspent; the minute after that had no audit asked for, so none is
        // leased ahead, and the audit in it is admitted on credit rather than refused for want of a lease.
        using var sampler = Sampler(30);
        for (var round = 0; round < 5; round++)
        {
            Assert.True(sampler.Admit(AuditReasons.Sampled), $"audit {round} refused");
            await sampler.Leasing;
            Assert.Equal(1, _store.Taken(_time.GetUtcNow()));

            _time.Advance(TimeSpan.FromMinutes(1));
            await sampler.Leasing;
            _time.Advance(TimeSpan.FromMinutes(1));
            await sampler.Leasing;
        }
    }

    [Fact]
    public async Task Credit_takes_the_fleet_past_the_cap_by_at_most_one_audit_an_instance_a_minute()
    {
        using var busy = Sampler(30);
        var quiet = Enumerable.Range(0, 3).Select(_ => Sampler(30)).ToArray();
        try
        {
            // The busy instance leases the minute's sampled four fifths (its own credit paid from them).
            Assert.Equal(24, await AdmittedAsync(AuditReasons.Sampled, 40, busy));

            // Each quiet instance's first audit is admitted on credit, and its lease finds none left: over the cap by one
            // each. Their later audits this minute are refused.
            Assert.Equal(3, await AdmittedAsync(AuditReasons.Sampled, 3, quiet));
            Assert.Equal(24, _store.Taken(_time.GetUtcNow()));
        }
        finally
        {
            foreach (var sampler in quiet)
            {
                sampler.Dispose();
            }
        }
    }

    [Fact]
    public async Task An_instance_that_audited_in_a_minute_leases_the_next_one_as_it_starts()
    {
        using var busy = Sampler(30);
        using var idle = Sampler(30);
        await AdmittedAsync(AuditReasons.Sampled, 2, busy);

        // As many as it asked for in the minute before.
        _time.Advance(TimeSpan.FromMinutes(1));
        await busy.Leasing;
        Assert.Equal(2, _store.Taken(_time.GetUtcNow()));

        // The idle instance leased nothing ahead; its first audit is admitted on credit and asks, and its lease pays.
        Assert.True(busy.Admit(AuditReasons.Sampled));
        Assert.True(idle.Admit(AuditReasons.Sampled));
        await idle.Leasing;
        Assert.Equal(3, _store.Taken(_time.GetUtcNow()));
        Assert.False(idle.Admit(AuditReasons.Sampled));
    }

    [Fact]
    public async Task A_credit_the_lease_could_not_pay_does_not_make_probes_lease_the_reserve_ahead()
    {
        using var sampler = Sampler(30);
        _store.Fill(_time.GetUtcNow(), 24);   // other instances leased the minute's sampled four fifths

        Assert.True(sampler.Admit(AuditReasons.Sampled));   // on credit; its lease finds none left: the overshoot
        await sampler.Leasing;
        Assert.False(sampler.Admit(AuditReasons.Sampled));

        // Probes lease the last fifth one audit at a time, as each finds none: none is leased ahead to die unspent.
        Assert.False(sampler.Admit(AuditReasons.Probe));
        await sampler.Leasing;
        Assert.True(sampler.Admit(AuditReasons.Probe));
        await sampler.Leasing;
        Assert.Equal(25, _store.Taken(_time.GetUtcNow()));
    }

    [Fact]
    public async Task An_unreachable_store_leaves_the_instance_to_its_own_allowance_and_says_so_once()
    {
        var logger = new FakeLogger<AuditSampler>();
        using var sampler = Sampler(10, _store, logger);
        _store.Down = true;

        Assert.Equal(8, await AdmittedAsync(AuditReasons.Sampled, 20, sampler));
        Assert.Equal([1307], logger.Collector.GetSnapshot().Select(r => r.Id.Id).Where(id => id != 1306));

        // Back: the audit that asks again passes, and the lease it took bounds the instance by the shared allowance again.
        _store.Down = false;
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await AdmittedAsync(AuditReasons.Sampled, 1, sampler));
        Assert.Equal([1307, 1308], logger.Collector.GetSnapshot().Select(r => r.Id.Id).Where(id => id != 1306));
        _store.Fill(_time.GetUtcNow(), 8);   // other instances lease the rest of the minute's sampled audits
        Assert.Equal(2, await AdmittedAsync(AuditReasons.Sampled, 10, sampler));
    }

    [Fact]
    public async Task A_lease_still_out_as_the_next_minute_starts_does_not_keep_that_minute_from_being_leased()
    {
        // The lease asked for near the end of a minute answers after the next one started: it is dropped (it counted in
        // its own minute), and the lease the new minute's start asked for while it was out is taken then.
        var store = new HeldStore(_store);
        using var sampler = Sampler(30, store);
        Assert.True(sampler.Admit(AuditReasons.Sampled));    // on credit
        await sampler.Leasing;                               // paid
        store.Hold = true;
        Assert.False(sampler.Admit(AuditReasons.Sampled));   // none left: the next lease is asked for, and stays out
        var late = sampler.Leasing;

        _time.Advance(TimeSpan.FromMinutes(1));
        store.Release();
        await late;
        await sampler.Leasing;

        Assert.Equal(2, _store.Taken(_time.GetUtcNow()));   // the two audits asked for in the minute before
        Assert.True(sampler.Admit(AuditReasons.Sampled));
    }

    [Fact]
    public async Task A_timer_that_wakes_just_before_the_minute_turns_leases_the_minute_that_starts_not_the_one_ending()
    {
        // Timers and the wall clock drift apart (a coarse timer tick, the clock slewed): the timer set for the next minute
        // may wake a few milliseconds before the clock shows it.
        var clock = new DriftingClock(_time);
        using var sampler = Sampler(30, time: clock);
        Assert.True(sampler.Admit(AuditReasons.Sampled));   // on credit, paid by this minute's lease: the next is leased as it starts
        await sampler.Leasing;

        clock.Behind = TimeSpan.FromMilliseconds(5);
        _time.Advance(TimeSpan.FromMinutes(1));
        await sampler.Leasing;
        _time.Advance(TimeSpan.FromMilliseconds(5));
        await sampler.Leasing;

        Assert.Equal(1, _store.Taken(clock.GetUtcNow().AddMinutes(-1)));   // the first audit's lease, and no other
        Assert.Equal(1, _store.Taken(clock.GetUtcNow()));                  // the one audit asked for in it
        Assert.True(sampler.Admit(AuditReasons.Sampled));
    }

    private sealed class MemoryAllowanceStore : IAuditAllowanceStore
    {
        private readonly Dictionary<DateTimeOffset, int> _taken = [];

        public bool Down { get; set; }

        public int Taken(DateTimeOffset time)
        {
            lock (_taken)
            {
                return _taken.GetValueOrDefault(Minute(time));
            }
        }

        public void Fill(DateTimeOffset time, int taken)
        {
            lock (_taken)
            {
                _taken[Minute(time)] = taken;
            }
        }

        public ValueTask<int> TakeAsync(DateTimeOffset minute, int count, int ceiling, CancellationToken cancellationToken)
        {
            if (Down)
            {
                throw new InvalidOperationException("store down");
            }

            lock (_taken)
            {
                var taken = _taken.GetValueOrDefault(minute);
                var granted = Math.Max(0, Math.Min(count, ceiling - taken));
                _taken[minute] = taken + granted;
                return ValueTask.FromResult(granted);
            }
        }

        private static DateTimeOffset Minute(DateTimeOffset time) => new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
    }

    // The test's timers, and a wall clock that may fall behind them.
    private sealed class DriftingClock(FakeTimeProvider timers) : TimeProvider
    {
        public TimeSpan Behind { get; set; }

        public override long TimestampFrequency => timers.TimestampFrequency;

        public override DateTimeOffset GetUtcNow() => timers.GetUtcNow() - Behind;

        public override long GetTimestamp() => timers.GetTimestamp();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            timers.CreateTimer(callback, state, dueTime, period);
    }

    // A store whose answers, once Hold is set, wait until the test releases them.
    private sealed class HeldStore(IAuditAllowanceStore inner) : IAuditAllowanceStore
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Hold { get; set; }

        public void Release() => _released.SetResult();

        public async ValueTask<int> TakeAsync(DateTimeOffset minute, int count, int ceiling, CancellationToken cancellationToken)
        {
            if (Hold)
            {
                await _released.Task.WaitAsync(cancellationToken);
            }

            return await inner.TakeAsync(minute, count, ceiling, cancellationToken);
        }
    }

    // A store that answers only once the test lets it.
    private sealed class GatedStore(IAuditAllowanceStore inner) : IAuditAllowanceStore
    {
        public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask<int> TakeAsync(DateTimeOffset minute, int count, int ceiling, CancellationToken cancellationToken)
        {
            await Open.Task.WaitAsync(cancellationToken);
            return await inner.TakeAsync(minute, count, ceiling, cancellationToken);
        }
    }
}
