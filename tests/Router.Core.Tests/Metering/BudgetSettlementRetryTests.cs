using System.Globalization;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Chat;
using Router.Core.Metering;
using Router.Infrastructure.Metering;

namespace Router.Core.Tests.Metering;

/// <summary>A settlement whose write to the shared row fails is written again later under its own name, and until it
/// is the money it spent is not given back to the other instances; upkeep's other writes (renewals, slices given back)
/// neither wait on each other nor leave a slice lendable twice when their answer is lost.</summary>
public sealed class BudgetSettlementRetryTests
{
    private static readonly Caller Caller = new("acme", "key-1");
    private static readonly TenantPolicy Policy = TenantPolicy.Default("acme") with { DailyBudgetUsd = 1m };
    private const string Scope = "tenant|acme|d20260101";

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
    private readonly InMemorySpendStore _store = new();

    private BudgetGuard Instance(ISpendStore store) =>
        new(store, _time, Options.Create(new BudgetOptions { LeaseTtl = TimeSpan.FromSeconds(30), LeaseShare = 1.0 }));

    private async Task<SpendRow> RowAsync() => await _store.GetAsync(Scope, CancellationToken.None);

    // Moves the clock a second at a time, giving the upkeep and waiting requests real time to run, until done or the limit.
    private async Task<bool> AdvanceUntilAsync(Func<Task<bool>> done, TimeSpan limit)
    {
        for (var elapsed = TimeSpan.Zero; elapsed < limit; elapsed += TimeSpan.FromSeconds(1))
        {
            if (await done())
            {
                return true;
            }

            _time.Advance(TimeSpan.FromSeconds(1));
            for (var i = 0; i < 50 && !await done(); i++)
            {
                await Task.Delay(10);
            }
        }

        return await done();
    }

    private async Task AdvanceAsync(TimeSpan span)
    {
        for (var elapsed = TimeSpan.Zero; elapsed < span; elapsed += TimeSpan.FromSeconds(1))
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(50);   // real time for the guard's timers to run on a loaded machine
        }
    }

    [Fact]
    public async Task A_settlement_whose_write_failed_is_written_later_and_its_money_is_not_given_back_meanwhile()
    {
        var store = new FailingSettlements(_store) { Mode = FailureMode.Fail };
        var first = Instance(store);
        var (reservation, _) = await first.ReserveAsync(Policy, Caller, 1m, CancellationToken.None);
        await Assert.ThrowsAsync<IOException>(() => first.SettleAsync(reservation!, 1m, CancellationToken.None));
        Assert.Equal(0m, (await RowAsync()).SpentUsd);

        // Settlements keep failing while the instance sits idle well past the time it gives idle slices back: the
        // dollar spent stays out of the pool, in its slice, which it renews.
        await AdvanceAsync(TimeSpan.FromSeconds(40));
        var row = await RowAsync();
        Assert.True(row.LeaseOf(first.Holder) is { } lease && lease.AmountUsd >= 1m && lease.ExpiresAt > _time.GetUtcNow(),
            "the instance gave back money it spent but could not record");
        var second = Instance(_store);
        var waiting = second.ReserveAsync(Policy, Caller, 0.1m, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted, "another instance was lent money already spent");

        // Once the store takes writes again, the next upkeep records the spend under its own name, once, and the
        // waiting request learns that the budget is spent.
        store.Mode = FailureMode.None;
        Assert.True(await AdvanceUntilAsync(async () => waiting.IsCompleted && (await RowAsync()).LeaseOf(first.Holder) is null, TimeSpan.FromSeconds(30)),
            "the spend was not recorded and the slice not given back within 30 s once the store took writes again");
        row = await RowAsync();
        Assert.Equal(1m, row.SpentUsd);
        Assert.Null(row.LeaseOf(first.Holder));
        Assert.Equal(1, store.Applied(reservation!));
        Assert.True(waiting.IsCompleted);
        var (refused, error) = await waiting;
        Assert.Null(refused);
        Assert.Equal("budget_exceeded", error!.Code);
        Assert.Null(error.RetryAfter);
        await first.DisposeAsync();
        await second.DisposeAsync();
    }

    [Fact]
    public async Task A_retried_settlement_whose_first_write_committed_is_not_counted_twice_and_frees_the_instance()
    {
        // The write commits but its answer is lost.
        var store = new FailingSettlements(_store) { Mode = FailureMode.CommitThenFail };
        var guard = Instance(store);
        var (reservation, _) = await guard.ReserveAsync(Policy, Caller, 0.5m, CancellationToken.None);
        await Assert.ThrowsAsync<IOException>(() => guard.SettleAsync(reservation!, 0.4m, CancellationToken.None));
        Assert.Equal(0.4m, (await RowAsync()).SpentUsd);

        store.Mode = FailureMode.None;
        await guard.UpkeepAsync();
        Assert.Equal(0.4m, (await RowAsync()).SpentUsd);

        // The instance no longer counts the $0.40 on top of the row: the $0.60 left is there for its requests (and, as
        // on one instance, the request that takes the last of it may cost more).
        var next = guard.ReserveAsync(Policy, Caller, 0.7m, CancellationToken.None).AsTask();
        Assert.True(next.IsCompleted, "the instance still counts the recorded settlement as unrecorded");
        Assert.NotNull((await next).Reservation);
        await guard.DisposeAsync();
    }

    [Fact]
    public async Task An_instance_that_shuts_down_writes_its_unrecorded_settlements_first()
    {
        var store = new FailingSettlements(_store) { Mode = FailureMode.Fail };
        var guard = Instance(store);
        var (reservation, _) = await guard.ReserveAsync(Policy, Caller, 0.5m, CancellationToken.None);
        await Assert.ThrowsAsync<IOException>(() => guard.SettleAsync(reservation!, 0.4m, CancellationToken.None));

        store.Mode = FailureMode.None;
        await guard.DisposeAsync();

        var row = await RowAsync();
        Assert.Equal(0.4m, row.SpentUsd);
        Assert.Null(row.LeaseOf(guard.Holder));
    }

    [Fact]
    public async Task Unrecorded_settlements_past_the_bound_are_dropped_oldest_first()
    {
        var store = new FailingSettlements(_store) { Mode = FailureMode.Fail };
        var guard = Instance(store);
        var policy = Policy with { DailyBudgetUsd = 1000m };
        var reservations = new List<BudgetReservation>();
        for (var i = 0; i < BudgetGuard.MaxUnrecorded + 2; i++)
        {
            var (reservation, _) = await guard.ReserveAsync(policy, Caller, 0.01m, CancellationToken.None);
            reservations.Add(reservation!);
            await Assert.ThrowsAsync<IOException>(() => guard.SettleAsync(reservation!, 0.01m, CancellationToken.None));
        }

        store.Mode = FailureMode.None;
        await guard.UpkeepAsync();

        Assert.Equal(BudgetGuard.MaxUnrecorded * 0.01m, (await RowAsync()).SpentUsd);
        Assert.Equal(0, store.Applied(reservations[0]));
        Assert.Equal(0, store.Applied(reservations[1]));
        Assert.Equal(1, store.Applied(reservations[^1]));
        await guard.DisposeAsync();
    }

    [Fact]
    public async Task Settlements_given_up_past_the_bound_are_not_lent_again_from_the_slice()
    {
        // The store takes claims and renewals but no settlement (as when a hot row is throttled): every request's spend
        // stays unrecorded, and past the bound the oldest is given up. The slice must still not lend that money again.
        var store = new FailingSettlements(_store) { Mode = FailureMode.Fail };
        var guard = Instance(store);
        var policy = Policy with { DailyBudgetUsd = 1.5m };
        var admitted = 0;
        for (var i = 0; i < 3 * BudgetGuard.MaxUnrecorded; i++)
        {
            var (reservation, error) = await guard.ReserveAsync(policy, Caller, 0.001m, CancellationToken.None);
            if (reservation is null)
            {
                Assert.Equal("budget_exceeded", error!.Code);
                break;
            }

            admitted++;
            await Assert.ThrowsAsync<IOException>(() => guard.SettleAsync(reservation, 0.001m, CancellationToken.None));
        }

        Assert.True(admitted * 0.001m <= 1.5m, $"admitted ${admitted * 0.001m} of spend against a cap of $1.50");
        await guard.DisposeAsync();
    }

    [Fact]
    public async Task A_backlog_of_settlements_to_write_again_does_not_hold_up_the_renewal_of_slices_in_use()
    {
        // Ten tenants, each with a settlement whose write failed and a request still in flight on its slice.
        var store = new FailingSettlements(_store) { Mode = FailureMode.Fail };
        var guard = Instance(store);
        var tenants = Enumerable.Range(0, 10).Select(i => $"t{i}").ToArray();
        foreach (var tenant in tenants)
        {
            var policy = TenantPolicy.Default(tenant) with { DailyBudgetUsd = 1m };
            var (settled, _) = await guard.ReserveAsync(policy, new Caller(tenant, "key-1"), 0.2m, CancellationToken.None);
            await Assert.ThrowsAsync<IOException>(() => guard.SettleAsync(settled!, 0.1m, CancellationToken.None));
            var (streaming, _) = await guard.ReserveAsync(policy, new Caller(tenant, "key-1"), 0.2m, CancellationToken.None);
            Assert.NotNull(streaming);
        }

        // Storage comes back slowly: every settlement written again waits as long as upkeep lets it. The slices of the
        // requests in flight must still be renewed before they expire, for twice their time to live.
        store.Mode = FailureMode.Hang;
        for (var second = 1; second <= 60; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(50);   // real time for the guard's timers to run on a loaded machine
            foreach (var tenant in tenants)
            {
                var lease = (await _store.GetAsync($"tenant|{tenant}|d20260101", CancellationToken.None)).LeaseOf(guard.Holder);
                Assert.True(lease is not null && lease.ExpiresAt > _time.GetUtcNow(),
                    $"the slice of {tenant} expired after {second} s while its request was in flight");
            }
        }

        guard.Dispose();
    }

    private enum FailureMode
    {
        None,
        Fail,
        CommitThenFail,
        Hang,
    }

    [Fact]
    public async Task A_slice_given_back_whose_answer_was_lost_is_not_lent_again_by_its_old_holder()
    {
        // Instance A used the cap a little ($0.10 settled) and holds the other $0.90 as its slice.
        var store = new ReleaseAnswerLost(_store);
        var a = Instance(store);
        var (done, _) = await a.ReserveAsync(Policy, Caller, 0.2m, CancellationToken.None);
        await a.SettleAsync(done!, 0.1m, CancellationToken.None);
        Assert.Equal(0.9m, (await RowAsync()).LeaseOf(a.Holder)!.AmountUsd);

        // Idle for a tick, upkeep gives the slice back: the store commits it, but the answer never comes back and the
        // write is given up at upkeep's timeout (as with a storage timeout, or the SDK's retries outlasting it).
        store.Arm();
        await AdvanceAsync(TimeSpan.FromSeconds(10));
        await store.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await Task.Delay(50);
        Assert.Null((await RowAsync()).LeaseOf(a.Holder));

        // The $0.90 is back in the pool: instance B claims it all and admits $0.90 of requests ...
        var b = Instance(_store);
        var admitted = 0m;
        for (var i = 0; i < 3; i++)
        {
            var (onB, _) = await b.ReserveAsync(Policy, Caller, 0.3m, CancellationToken.None);
            Assert.NotNull(onB);
            admitted += 0.3m;
        }

        // ... and A must not admit against the slice it no longer holds. One instance alone would have admitted at most
        // the $0.90 left (plus one request past it).
        for (var i = 0; i < 3; i++)
        {
            var reserving = a.ReserveAsync(Policy, Caller, 0.3m, CancellationToken.None).AsTask();
            await Task.WhenAny(reserving, Task.Delay(200));
            if (reserving.IsCompletedSuccessfully && (await reserving).Reservation is not null)
            {
                admitted += 0.3m;
            }
        }

        Assert.True(admitted <= 0.9m + 0.3m, $"${admitted} admitted against the $0.90 left of a $1 cap");
        a.Dispose();
        b.Dispose();
    }

    [Fact]
    public async Task A_few_caps_whose_renewals_hang_do_not_let_the_slice_of_another_cap_in_use_expire()
    {
        var store = new HotScopes(_store);
        var guard = Instance(store);

        // Eight tenants with a request in flight whose rows the store stops answering (a throttled partition), and one
        // tenant whose row is fine, with a long stream in flight.
        var hot = Enumerable.Range(0, 8).Select(i => $"hot{i}").ToArray();
        foreach (var tenant in hot)
        {
            var policy = TenantPolicy.Default(tenant) with { DailyBudgetUsd = 1m };
            var (inFlight, _) = await guard.ReserveAsync(policy, new Caller(tenant, "key-1"), 0.2m, CancellationToken.None);
            Assert.NotNull(inFlight);
            store.Hot.Add($"tenant|{tenant}|d20260101");
        }

        var (streaming, _) = await guard.ReserveAsync(Policy, Caller, 0.2m, CancellationToken.None);
        Assert.NotNull(streaming);
        store.Hang = true;

        for (var second = 1; second <= 90; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(50);   // real time for the guard's timers to run on a loaded machine
            var lease = (await RowAsync()).LeaseOf(guard.Holder);
            Assert.True(lease is not null && lease.ExpiresAt > _time.GetUtcNow(),
                $"the slice of acme expired after {second} s while its request was in flight");
        }

        guard.Dispose();
    }

    // The next unnamed change (giving back an idle slice) commits, then its answer is lost: the call waits until cancelled.
    private sealed class ReleaseAnswerLost(ISpendStore inner) : ISpendStore
    {
        private int _armed;

        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Arm() => Volatile.Write(ref _armed, 1);

        public ValueTask<SpendRow> GetAsync(string scope, CancellationToken cancellationToken) => inner.GetAsync(scope, cancellationToken);

        public async ValueTask<SpendRow> UpdateAsync(string scope, string operationId, Func<SpendRow, SpendRow?> change, CancellationToken cancellationToken)
        {
            if (operationId.Length == 0 && Interlocked.Exchange(ref _armed, 0) == 1)
            {
                await inner.UpdateAsync(scope, operationId, change, CancellationToken.None);
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
                }
                finally
                {
                    Cancelled.TrySetResult();
                }
            }

            return await inner.UpdateAsync(scope, operationId, change, cancellationToken);
        }
    }

    // Unnamed changes (renewals, slices given back) of the hot scopes wait until cancelled once Hang is set.
    private sealed class HotScopes(ISpendStore inner) : ISpendStore
    {
        public HashSet<string> Hot { get; } = new(StringComparer.Ordinal);

        public volatile bool Hang;

        public ValueTask<SpendRow> GetAsync(string scope, CancellationToken cancellationToken) => inner.GetAsync(scope, cancellationToken);

        public async ValueTask<SpendRow> UpdateAsync(string scope, string operationId, Func<SpendRow, SpendRow?> change, CancellationToken cancellationToken)
        {
            if (Hang && operationId.Length == 0 && Hot.Contains(scope))
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            }

            return await inner.UpdateAsync(scope, operationId, change, cancellationToken);
        }
    }

    // Named changes (settlements) fail, before or after they commit, or wait until given up; claims, renewals and
    // releases go through.
    private sealed class FailingSettlements(ISpendStore inner) : ISpendStore
    {
        private readonly Dictionary<string, int> _applied = new(StringComparer.Ordinal);

        public FailureMode Mode { get; set; }

        public int Applied(BudgetReservation reservation)
        {
            lock (_applied)
            {
                return _applied.GetValueOrDefault(reservation.Id);
            }
        }

        public ValueTask<SpendRow> GetAsync(string scope, CancellationToken cancellationToken) => inner.GetAsync(scope, cancellationToken);

        public async ValueTask<SpendRow> UpdateAsync(string scope, string operationId, Func<SpendRow, SpendRow?> change, CancellationToken cancellationToken)
        {
            if (operationId.Length == 0)
            {
                return await inner.UpdateAsync(scope, operationId, change, cancellationToken);
            }

            if (Mode == FailureMode.Fail)
            {
                throw new IOException("storage unreachable");
            }

            if (Mode == FailureMode.Hang)
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            }

            var row = await inner.UpdateAsync(scope, operationId, r =>
            {
                var next = change(r);
                if (next is not null)
                {
                    lock (_applied)
                    {
                        _applied[operationId] = _applied.GetValueOrDefault(operationId) + 1;
                    }
                }

                return next;
            }, cancellationToken);
            return Mode == FailureMode.CommitThenFail ? throw new IOException("answer lost") : row;
        }
    }
}
