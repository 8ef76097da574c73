using System.Globalization;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Chat;
using Router.Core.Metering;
using Router.Infrastructure.Metering;

namespace Router.Core.Tests.Metering;

/// <summary>The embedded spend store lets go of past days and months once a later one is written, and only of those.</summary>
public sealed class InMemorySpendStoreTests
{
    private readonly InMemorySpendStore _store = new();

    [Fact]
    public async Task A_day_on_drops_past_rows_without_a_live_slice_and_leaves_current_ones_as_they_read()
    {
        await _store.AddAsync("key|k1|d20260131", 1m, "op1", CancellationToken.None);
        await _store.AddAsync("key|k1|m202601", 2m, "op2", CancellationToken.None);
        await _store.AddAsync("tenant|t|d20260131", 3m, "op3", CancellationToken.None);

        // Another instance holds a slice of the tenant's day until a few days on: it may still settle against it.
        var slice = new BudgetLease("other", 0.5m, At("2026-02-03T00:01:00Z"));
        await _store.UpdateAsync("tenant|t|d20260131", "", r => r with { Leases = [slice] }, CancellationToken.None);
        await _store.AddAsync("session|s", 4m, "op4", CancellationToken.None);

        // The new day keeps the day and month just ended: a request that looked them up before midnight may claim after.
        await _store.AddAsync("key|k1|d20260201", 5m, "op5", CancellationToken.None);
        Assert.Equal(1m, (await _store.GetAsync("key|k1|d20260131", CancellationToken.None)).SpentUsd);
        Assert.Equal(2m, (await _store.GetAsync("key|k1|m202601", CancellationToken.None)).SpentUsd);
        Assert.Equal(5, _store.RowCount);

        // A day later they go, but for the row whose slice may still be live.
        await _store.AddAsync("key|k1|m202602", 1m, "op6", CancellationToken.None);
        await _store.AddAsync("key|k1|d20260202", 1m, "op7", CancellationToken.None);
        Assert.Equal(0m, (await _store.GetAsync("key|k1|d20260131", CancellationToken.None)).SpentUsd);
        Assert.Equal(0m, (await _store.GetAsync("key|k1|m202601", CancellationToken.None)).SpentUsd);
        var held = await _store.GetAsync("tenant|t|d20260131", CancellationToken.None);
        Assert.Equal(3m, held.SpentUsd);
        Assert.Equal(slice, Assert.Single(held.Leases));
        Assert.Equal(4m, (await _store.GetAsync("session|s", CancellationToken.None)).SpentUsd);
        Assert.Equal(5m, (await _store.GetAsync("key|k1|d20260201", CancellationToken.None)).SpentUsd);
        Assert.Equal(5, _store.RowCount);

        // The next new day takes the slice's row, expired by then.
        await _store.AddAsync("key|k1|d20260204", 1m, "op8", CancellationToken.None);
        Assert.Equal(SpendRow.Empty, await _store.GetAsync("tenant|t|d20260131", CancellationToken.None));
        Assert.Equal(1m, (await _store.GetAsync("key|k1|m202602", CancellationToken.None)).SpentUsd);
        Assert.Equal(["key|k1|d20260204", "key|k1|m202602", "session|s"], await RowsAsync("key|k1|d20260201", "key|k1|d20260202", "key|k1|d20260204", "key|k1|m202602", "session|s", "tenant|t|d20260131"));
    }

    [Fact]
    public async Task A_request_that_looked_up_a_spent_days_budget_as_the_day_ended_is_refused_though_the_new_day_was_written_first()
    {
        const string day = "tenant|acme|d20260101";
        var policy = TenantPolicy.Default("acme") with { DailyBudgetUsd = 1m };
        var caller = new Caller("acme", "key-1");
        var clock = new FakeTimeProvider(At("2026-01-01T23:59:00Z"));
        var store = new NewDayFirst(_store);
        var guard = new BudgetGuard(store, clock, Options.Create(new BudgetOptions { LeaseTtl = TimeSpan.FromSeconds(30), LeaseShare = 1.0 }));

        // The day's $1 is spent: the whole slice became settled spend, and the row holds no slice.
        var (spent, _) = await guard.ReserveAsync(policy, caller, 1m, CancellationToken.None);
        await guard.SettleAsync(spent!, 1m, CancellationToken.None);
        Assert.Equal(1m, (await _store.GetAsync(day, CancellationToken.None)).SpentUsd);
        Assert.Empty((await _store.GetAsync(day, CancellationToken.None)).Leases);

        // A request looks the day's budget up at 23:59:59 (BudgetGuard lets it reserve on that day after midnight); before
        // its claim reaches the store, midnight passes and another tenant's first request of the new day is written.
        clock.Advance(TimeSpan.FromSeconds(59));
        store.BeforeNextClaim = () =>
        {
            clock.Advance(TimeSpan.FromSeconds(2));
            _store.AddAsync("tenant|globex|d20260102", 0.01m, "globex-1", CancellationToken.None).AsTask().GetAwaiter().GetResult();
        };
        var (late, error) = await guard.ReserveAsync(policy, caller, 0.5m, CancellationToken.None);

        // It claims on the day it looked up, whose $1 is spent: a 402 (as with Table Storage), not a fresh $1 read from a
        // row dropped under it.
        Assert.Null(late);
        Assert.Equal("budget_exceeded", error?.Code);
        Assert.Equal(1m, (await _store.GetAsync(day, CancellationToken.None)).SpentUsd);
        await guard.DisposeAsync();
    }

    private async Task<List<string>> RowsAsync(params string[] scopes)
    {
        var kept = new List<string>();
        foreach (var scope in scopes)
        {
            if (await _store.GetAsync(scope, CancellationToken.None) != SpendRow.Empty)
            {
                kept.Add(scope);
            }
        }

        return kept;
    }

    // Runs an action (another request's write) just before the next unnamed change (a claim) reaches the store.
    private sealed class NewDayFirst(ISpendStore inner) : ISpendStore
    {
        public Action? BeforeNextClaim { get; set; }

        public ValueTask<SpendRow> GetAsync(string scope, CancellationToken cancellationToken) => inner.GetAsync(scope, cancellationToken);

        public ValueTask<SpendRow> UpdateAsync(string scope, string operationId, Func<SpendRow, SpendRow?> change, CancellationToken cancellationToken)
        {
            if (operationId.Length == 0 && BeforeNextClaim is { } before)
            {
                BeforeNextClaim = null;
                before();
            }

            return inner.UpdateAsync(scope, operationId, change, cancellationToken);
        }
    }

    private static DateTimeOffset At(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
}
