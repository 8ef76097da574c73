using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Chat;
using Router.Core.Metering;
using Router.Infrastructure.Metering;

namespace Router.Core.Tests.Metering;

/// <summary>Two router instances (two guards) sharing one spend store: the slices of a cap they claim come back when
/// the holder is idle, stops, or is gone for longer than a slice's time to live, and not while it still uses them.</summary>
public sealed class BudgetGuardTests
{
    private static readonly Caller Caller = new("acme", "key-1");
    private static readonly TenantPolicy Policy = TenantPolicy.Default("acme") with { DailyBudgetUsd = 1m };

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
    private readonly InMemorySpendStore _store = new();

    private const string Scope = "tenant|acme|d20260101";

    // The whole of what is left is claimed at once, so a second instance finds nothing unless the first gives it back.
    private BudgetGuard Instance(TimeSpan ttl) =>
        new(_store, _time, Options.Create(new BudgetOptions { LeaseTtl = ttl, LeaseShare = 1.0 }));

    private async Task<SpendRow> RowAsync() => await _store.GetAsync(Scope, CancellationToken.None);

    // Moves the clock a second at a time until the reservation is answered or the limit is reached, with 100 ms of real
    // time after each step for the guard's timers and store calls to run, on a loaded machine too.
    private async Task<TimeSpan> AdvanceUntilAsync(Task task, TimeSpan limit)
    {
        var elapsed = TimeSpan.Zero;
        while (!task.IsCompleted && elapsed < limit)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            elapsed += TimeSpan.FromSeconds(1);
            await Task.WhenAny(task, Task.Delay(100));
        }

        for (var i = 0; i < 100 && !task.IsCompleted; i++)
        {
            await Task.Delay(10);
        }

        return elapsed;
    }

    [Fact]
    public async Task A_slice_of_an_instance_that_stopped_without_giving_it_back_comes_back_after_its_time_to_live()
    {
        var ttl = TimeSpan.FromSeconds(12);
        var first = Instance(ttl);
        var (held, _) = await first.ReserveAsync(Policy, Caller, 0.2m, CancellationToken.None);
        Assert.NotNull(held);
        Assert.Equal(1m, (await RowAsync()).LeaseOf(first.Holder)!.AmountUsd);
        first.Dispose();   // a crash: nothing renews the slice, nothing gives it back

        var second = Instance(ttl);
        var waiting = second.ReserveAsync(Policy, Caller, 0.5m, CancellationToken.None).AsTask();
        var elapsed = await AdvanceUntilAsync(waiting, TimeSpan.FromSeconds(25));

        Assert.True(waiting.IsCompleted, "still waiting for the stopped instance's slice");
        var (reservation, error) = await waiting;
        Assert.Null(error);
        Assert.NotNull(reservation);
        Assert.True(elapsed >= ttl, $"admitted after {elapsed}, while the stopped instance's slice was still live");
        var row = await RowAsync();
        Assert.Null(row.LeaseOf(first.Holder));
        Assert.Equal(1m, row.LeaseOf(second.Holder)!.AmountUsd);
    }

    [Fact]
    public async Task An_idle_instance_gives_its_slice_back_long_before_it_expires()
    {
        var ttl = TimeSpan.FromSeconds(60);
        var first = Instance(ttl);
        var (done, _) = await first.ReserveAsync(Policy, Caller, 0.2m, CancellationToken.None);
        await first.SettleAsync(done!, 0.1m, CancellationToken.None);
        Assert.Equal(0.9m, (await RowAsync()).LeaseOf(first.Holder)!.AmountUsd);

        var second = Instance(ttl);
        var waiting = second.ReserveAsync(Policy, Caller, 0.5m, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        var elapsed = await AdvanceUntilAsync(waiting, ttl + TimeSpan.FromSeconds(5));

        // Idle for a sixth of the time to live (10 s), the slice goes back at the next upkeep tick: long before the 60 s
        // after which it would come back anyway (and before the request's 30 s wait for money runs out).
        Assert.True(waiting.IsCompleted, "still waiting for the idle instance's slice");
        Assert.True(elapsed <= ttl / 3, $"answered after {elapsed}");
        Assert.NotNull((await waiting).Reservation);
        var row = await RowAsync();
        Assert.Null(row.LeaseOf(first.Holder));
        Assert.Equal(0.1m, row.SpentUsd);
        Assert.Equal(0.9m, row.LeaseOf(second.Holder)!.AmountUsd);
    }

    [Fact]
    public async Task A_slice_is_renewed_while_a_request_is_in_flight_however_long_it_runs()
    {
        var ttl = TimeSpan.FromSeconds(6);
        var first = Instance(ttl);
        var (streaming, _) = await first.ReserveAsync(Policy, Caller, 0.6m, CancellationToken.None);

        var second = Instance(ttl);
        var waiting = second.ReserveAsync(Policy, Caller, 0.5m, CancellationToken.None).AsTask();
        await AdvanceUntilAsync(waiting, TimeSpan.FromSeconds(20));

        // Three times the slice's time to live later, the request in flight still holds its money.
        Assert.False(waiting.IsCompleted);
        Assert.Equal(1m, (await RowAsync()).LeaseOf(first.Holder)!.AmountUsd);

        await first.SettleAsync(streaming!, 0.5m, CancellationToken.None);
        await AdvanceUntilAsync(waiting, TimeSpan.FromSeconds(9));
        Assert.True(waiting.IsCompleted, "still waiting once the request in flight settled");
        Assert.NotNull((await waiting).Reservation);
        var row = await RowAsync();
        Assert.Equal(0.5m, row.SpentUsd);
        Assert.True(row.SpentUsd + row.Leases.Sum(l => l.AmountUsd) <= 1m);
    }

    [Fact]
    public async Task An_instance_that_shuts_down_gives_its_slice_back_at_once()
    {
        var ttl = TimeSpan.FromSeconds(30);
        var first = Instance(ttl);
        var (done, _) = await first.ReserveAsync(Policy, Caller, 0.2m, CancellationToken.None);
        await first.SettleAsync(done!, 0.2m, CancellationToken.None);
        await first.DisposeAsync();
        Assert.Null((await RowAsync()).LeaseOf(first.Holder));

        var second = Instance(ttl);
        var (reservation, error) = await second.ReserveAsync(Policy, Caller, 0.8m, CancellationToken.None);
        Assert.Null(error);
        Assert.NotNull(reservation);
    }

    [Fact]
    public async Task Shutdown_waits_for_the_upkeep_under_way_and_gives_back_the_slice_it_was_giving_back()
    {
        var store = new HangingRenewal(_store);
        var guard = new BudgetGuard(store, _time, Options.Create(new BudgetOptions { LeaseTtl = TimeSpan.FromSeconds(30), LeaseShare = 1.0 }));
        var (done, _) = await guard.ReserveAsync(Policy, Caller, 0.2m, CancellationToken.None);
        await guard.SettleAsync(done!, 0.1m, CancellationToken.None);

        // Idle for a tick, the slice is being given back by upkeep when shutdown begins; the store does not answer that write.
        store.HangNextRenewal();
        _time.Advance(TimeSpan.FromSeconds(5));
        await Task.Delay(10);
        Assert.NotNull((await RowAsync()).LeaseOf(guard.Holder));

        var stopping = guard.DisposeAsync().AsTask();
        for (var i = 0; i < 100 && !stopping.IsCompleted; i++)
        {
            await Task.Delay(10);
        }

        Assert.True(stopping.IsCompleted, "shutdown did not end");
        await stopping;
        var row = await RowAsync();
        Assert.Null(row.LeaseOf(guard.Holder));
        Assert.Equal(0.1m, row.SpentUsd);
    }

    [Fact]
    public async Task One_instance_admits_while_anything_is_left_so_spend_passes_a_cap_by_at_most_one_request()
    {
        var guard = new BudgetGuard(_store, _time);
        var (first, _) = await guard.ReserveAsync(Policy, Caller, 0.95m, CancellationToken.None);
        var (second, _) = await guard.ReserveAsync(Policy, Caller, 0.5m, CancellationToken.None);
        Assert.NotNull(first);
        Assert.NotNull(second);

        // Nothing is left that is not set aside: the next one waits, and is refused for good once the money is spent.
        var waiting = guard.ReserveAsync(Policy, Caller, 0.1m, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        await guard.SettleAsync(first!, 0.95m, CancellationToken.None);
        await guard.SettleAsync(second!, 0.3m, CancellationToken.None);
        await AdvanceUntilAsync(waiting, TimeSpan.FromSeconds(5));

        Assert.True(waiting.IsCompleted);
        var (refused, error) = await waiting;
        Assert.Null(refused);
        Assert.Equal("budget_exceeded", error!.Code);
        Assert.Null(error.RetryAfter);
        Assert.Equal(1.25m, (await RowAsync()).SpentUsd);
    }

    [Fact]
    public async Task A_cap_lowered_under_a_slice_claimed_before_takes_a_claim_that_fits_the_slice_to_it()
    {
        var guard = Instance(TimeSpan.FromSeconds(60));
        var generous = Policy with { DailyBudgetUsd = 100m };
        var (spent, _) = await guard.ReserveAsync(generous, Caller, 0.9m, CancellationToken.None);
        var (inFlight, _) = await guard.ReserveAsync(generous, Caller, 0.2m, CancellationToken.None);
        await guard.SettleAsync(spent!, 0.9m, CancellationToken.None);
        Assert.Equal(99.1m, (await RowAsync()).LeaseOf(guard.Holder)!.AmountUsd);

        // The operator lowers the cap to $1 with $0.90 spent and $0.20 in flight: the slice of the $100 cap no longer
        // admits anything; the claim keeps the request in flight's $0.20 and gives the rest back.
        var lowered = Policy with { DailyBudgetUsd = 1m };
        var waiting = guard.ReserveAsync(lowered, Caller, 0.5m, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted, "admitted against a slice of the old cap");
        Assert.Equal(0.2m, (await RowAsync()).LeaseOf(guard.Holder)!.AmountUsd);

        // The request in flight settles at $0.05: $0.05 is left, so the waiting request is admitted (the one that crosses
        // the cap) and the next is refused.
        await guard.SettleAsync(inFlight!, 0.05m, CancellationToken.None);
        await AdvanceUntilAsync(waiting, TimeSpan.FromSeconds(5));
        var (crossing, crossingError) = await waiting;
        Assert.True(crossing is not null, crossingError?.Message);
        await guard.SettleAsync(crossing!, 0.5m, CancellationToken.None);
        var (refused, error) = await guard.ReserveAsync(lowered, Caller, 0.5m, CancellationToken.None);
        Assert.Null(refused);
        Assert.Equal("budget_exceeded", error!.Code);
        Assert.Equal(1.45m, (await RowAsync()).SpentUsd);

        // Raised again, the cap admits at once.
        var (raised, _) = await guard.ReserveAsync(generous, Caller, 0.5m, CancellationToken.None);
        Assert.NotNull(raised);
    }

    [Fact]
    public async Task A_settlement_written_while_a_claim_crosses_the_cap_leaves_the_slice_covering_the_requests_in_flight()
    {
        var store = new HeldSettlements(_store);
        BudgetGuard Sliced() => new(store, _time, Options.Create(new BudgetOptions { LeaseTtl = TimeSpan.FromSeconds(30), LeaseShare = 0.01 }));
        var first = Sliced();
        var second = Sliced();

        // Slices just as large as the requests: the second instance holds $0.20, the first $0.50.
        var (onSecond, _) = await second.ReserveAsync(Policy, Caller, 0.2m, CancellationToken.None);
        var (earlier, _) = await first.ReserveAsync(Policy, Caller, 0.5m, CancellationToken.None);
        Assert.NotNull(onSecond);
        Assert.NotNull(earlier);

        // The first instance's settlement is slow to reach the store; meanwhile it admits another request, whose claim
        // takes the last $0.30 and crosses the cap (as one instance would: $0.30 was left).
        store.Hold();
        var settling = first.SettleAsync(earlier!, 0.5m, CancellationToken.None);
        var (later, _) = await first.ReserveAsync(Policy, Caller, 0.5m, CancellationToken.None);
        Assert.NotNull(later);
        store.Release();
        await settling;
        Assert.True((await RowAsync()).LeaseOf(first.Holder)!.AmountUsd >= 0.5m, "the request in flight lost its cover in the slice");

        // $0.50 settled and $0.50 in flight: the cap is taken, so the second instance's next request waits (it would on
        // one instance), and is refused once the money is spent.
        await second.SettleAsync(onSecond!, 0m, CancellationToken.None);
        var waiting = second.ReserveAsync(Policy, Caller, 0.5m, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted, "admitted while settled spend and a request in flight took the whole cap");

        await first.SettleAsync(later!, 0.5m, CancellationToken.None);
        await AdvanceUntilAsync(waiting, TimeSpan.FromSeconds(5));
        Assert.True(waiting.IsCompleted);
        Assert.Equal("budget_exceeded", (await waiting).Error!.Code);
        Assert.Equal(1m, (await RowAsync()).SpentUsd);
    }

    [Fact]
    public async Task Requests_needing_a_claim_do_not_wait_past_their_time_for_a_store_that_does_not_answer()
    {
        // Storage that takes the connection and never answers (the SDK's retries take minutes to give up).
        var guard = new BudgetGuard(new Unanswering(), _time);
        var first = guard.ReserveAsync(Policy, Caller, 0.1m, CancellationToken.None).AsTask();
        var second = guard.ReserveAsync(Policy, Caller, 0.1m, CancellationToken.None).AsTask();   // queued behind the first's claim

        await AdvanceUntilAsync(Task.WhenAll(first, second).ContinueWith(_ => { }, TaskScheduler.Default), TimeSpan.FromSeconds(40));

        Assert.True(first.IsCompleted, "the request whose claim the store never answered is still waiting");
        Assert.True(second.IsCompleted, "the request queued behind it is still waiting");
        await Assert.ThrowsAsync<TimeoutException>(() => first);
        await Assert.ThrowsAsync<TimeoutException>(() => second);
    }

    [Fact]
    public async Task A_renewal_the_store_does_not_answer_does_not_hold_up_the_renewal_of_the_other_slices()
    {
        var store = new HangingRenewal(_store);
        var guard = new BudgetGuard(store, _time, Options.Create(new BudgetOptions { LeaseTtl = TimeSpan.FromSeconds(12) }));
        var both = Policy with { MonthlyBudgetUsd = 5m };
        var (streaming, _) = await guard.ReserveAsync(both, Caller, 0.2m, CancellationToken.None);
        Assert.NotNull(streaming);

        // The first renewal of either slice never gets an answer; the request stays in flight for twice the time to live.
        store.HangNextRenewal();
        for (var i = 0; i < 24; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(10);
        }

        foreach (var scope in new[] { Scope, "tenant|acme|m202601" })
        {
            var lease = (await _store.GetAsync(scope, CancellationToken.None)).LeaseOf(guard.Holder);
            Assert.True(lease is not null && lease.ExpiresAt > _time.GetUtcNow(), $"the slice of {scope} expired while its request was in flight");
        }
    }

    [Fact]
    public async Task A_slice_claimed_for_a_request_still_waiting_on_another_scope_is_not_given_back_as_idle()
    {
        var ttl = TimeSpan.FromSeconds(30);
        var monthly = TenantPolicy.Default("acme") with { MonthlyBudgetUsd = 5m };
        var other = Instance(ttl);
        var (holding, _) = await other.ReserveAsync(monthly, Caller, 4.95m, CancellationToken.None);
        Assert.NotNull(holding);

        // The daily slice is claimed at once; the monthly one is all the other instance's, so the request waits for it.
        var guard = Instance(ttl);
        using var cancel = new CancellationTokenSource();
        var waiting = guard.ReserveAsync(monthly with { DailyBudgetUsd = 1m }, Caller, 0.5m, cancel.Token).AsTask();
        Assert.False(waiting.IsCompleted);
        Assert.NotNull((await RowAsync()).LeaseOf(guard.Holder));

        await guard.UpkeepAsync();

        Assert.NotNull((await RowAsync()).LeaseOf(guard.Holder));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }

    [Fact]
    public async Task Scopes_of_past_days_that_hold_nothing_are_forgotten()
    {
        var guard = Instance(TimeSpan.FromSeconds(30));
        var (done, _) = await guard.ReserveAsync(Policy with { MonthlyBudgetUsd = 5m }, Caller, 0.2m, CancellationToken.None);
        await guard.SettleAsync(done!, 0.1m, CancellationToken.None);
        Assert.Equal(2, guard.ScopeCount);

        // A day and some minutes later the slices have gone back (idle); the day's scope is forgotten, the month's kept.
        for (var i = 0; i < 30; i++)
        {
            _time.Advance(TimeSpan.FromMinutes(49));
            await guard.UpkeepAsync();
        }

        Assert.Null((await RowAsync()).LeaseOf(guard.Holder));
        Assert.Equal(1, guard.ScopeCount);
    }

    [Fact]
    public async Task A_request_that_looked_up_its_days_budget_as_the_day_ended_keeps_its_slice_renewed()
    {
        var clock = new SteppingClock(DateTimeOffset.Parse("2026-01-01T23:50:00Z", CultureInfo.InvariantCulture));
        var guard = new BudgetGuard(_store, clock, Options.Create(new BudgetOptions { LeaseTtl = TimeSpan.FromSeconds(30), LeaseShare = 1.0 }));

        // The day's budget was used, then sat idle: its slice went back and this instance holds nothing of it.
        var (done, _) = await guard.ReserveAsync(Policy, Caller, 0.2m, CancellationToken.None);
        await guard.SettleAsync(done!, 0.1m, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(599));
        await guard.UpkeepAsync();
        Assert.Null((await RowAsync()).LeaseOf(guard.Holder));

        // A request looks the day's budget up at 23:59:59; before it reserves, midnight passes and upkeep forgets the
        // past day's scope.
        var forgotten = false;
        clock.AfterReads(1, () =>
        {
            clock.Advance(TimeSpan.FromSeconds(2));
            _ = guard.UpkeepAsync();
            forgotten = guard.ScopeCount == 0;
        });
        var (streaming, error) = await guard.ReserveAsync(Policy, Caller, 0.5m, CancellationToken.None);
        Assert.True(forgotten, "upkeep did not forget the past day's scope between the lookup and the reserve, so this test no longer reaches the race");
        Assert.Null(error);
        Assert.NotNull(streaming);
        Assert.Equal([Scope], streaming.Scopes);

        // The request streams on for twice the slice's time to live: its slice must be renewed all along.
        for (var second = 1; second <= 60; second++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(1);
            var lease = (await RowAsync()).LeaseOf(guard.Holder);
            Assert.True(lease is not null && lease.ExpiresAt > clock.GetUtcNow(), $"the slice expired {second} s after midnight while its request was in flight");
        }

        await guard.SettleAsync(streaming!, 0.5m, CancellationToken.None);
        Assert.Equal(0.6m, (await RowAsync()).SpentUsd);
        await guard.DisposeAsync();
        Assert.Null((await RowAsync()).LeaseOf(guard.Holder));
    }

    [Theory]
    [InlineData("LeaseTtl", "00:00:01")]
    [InlineData("LeaseShare", "0")]
    public void A_slice_setting_out_of_range_fails_validation_naming_it(string setting, string value)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [$"Router:Budgets:{setting}"] = value })
            .Build();
        using var provider = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging().AddRouterCore()
            .BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<BudgetOptions>>().Value);
        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
    }

    // A fake clock that, read a given number of times more, first runs an action (moves itself on, runs upkeep): as
    // when a request reads the time, and upkeep on another thread runs before its next read.
    private sealed class SteppingClock(DateTimeOffset start) : FakeTimeProvider(start)
    {
        private int _reads = -1;
        private Action? _then;

        public void AfterReads(int reads, Action then)
        {
            _then = then;
            _reads = reads;
        }

        public override DateTimeOffset GetUtcNow()
        {
            if (_reads >= 0 && _reads-- == 0 && Interlocked.Exchange(ref _then, null) is { } then)
            {
                then();
            }

            return base.GetUtcNow();
        }
    }

    // Holds named changes (settlements) until released; claims, renewals and releases go through.
    private sealed class HeldSettlements(ISpendStore inner) : ISpendStore
    {
        private TaskCompletionSource? _held;

        public void Hold() => _held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => Interlocked.Exchange(ref _held, null)?.TrySetResult();

        public ValueTask<SpendRow> GetAsync(string scope, CancellationToken cancellationToken) => inner.GetAsync(scope, cancellationToken);

        public async ValueTask<SpendRow> UpdateAsync(string scope, string operationId, Func<SpendRow, SpendRow?> change, CancellationToken cancellationToken)
        {
            if (operationId.Length > 0 && Volatile.Read(ref _held) is { } held)
            {
                await held.Task;
            }

            return await inner.UpdateAsync(scope, operationId, change, cancellationToken);
        }
    }

    private sealed class Unanswering : ISpendStore
    {
        public async ValueTask<SpendRow> GetAsync(string scope, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            return SpendRow.Empty;
        }

        public async ValueTask<SpendRow> UpdateAsync(string scope, string operationId, Func<SpendRow, SpendRow?> change, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            return SpendRow.Empty;
        }
    }

    // The next unnamed change (a renewal once a request is in flight, else giving back an idle slice) waits for
    // cancellation; the rest go through.
    private sealed class HangingRenewal(ISpendStore inner) : ISpendStore
    {
        private int _hang;

        public void HangNextRenewal() => Volatile.Write(ref _hang, 1);

        public ValueTask<SpendRow> GetAsync(string scope, CancellationToken cancellationToken) => inner.GetAsync(scope, cancellationToken);

        public async ValueTask<SpendRow> UpdateAsync(string scope, string operationId, Func<SpendRow, SpendRow?> change, CancellationToken cancellationToken)
        {
            if (operationId.Length == 0 && Interlocked.Exchange(ref _hang, 0) == 1)
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            }

            return await inner.UpdateAsync(scope, operationId, change, cancellationToken);
        }
    }
}
