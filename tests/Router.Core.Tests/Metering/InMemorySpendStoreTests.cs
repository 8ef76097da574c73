using System.Globalization;
using Router.Core.Metering;
using Router.Infrastructure.Metering;

namespace Router.Core.Tests.Metering;

/// <summary>The embedded spend store lets go of past days and months once a later one is written, and only of those.</summary>
public sealed class InMemorySpendStoreTests
{
    private readonly InMemorySpendStore _store = new();

    [Fact]
    public async Task A_new_day_drops_past_rows_without_a_live_slice_and_leaves_current_ones_as_they_read()
    {
        await _store.AddAsync("key|k1|d20260131", 1m, "op1", CancellationToken.None);
        await _store.AddAsync("key|k1|m202601", 2m, "op2", CancellationToken.None);
        await _store.AddAsync("tenant|t|d20260131", 3m, "op3", CancellationToken.None);

        // Another instance holds a slice of the tenant's day past midnight: it may still settle against it.
        var slice = new BudgetLease("other", 0.5m, At("2026-02-01T00:01:00Z"));
        await _store.UpdateAsync("tenant|t|d20260131", "", r => r with { Leases = [slice] }, CancellationToken.None);
        await _store.AddAsync("session|s", 4m, "op4", CancellationToken.None);

        await _store.AddAsync("key|k1|d20260201", 5m, "op5", CancellationToken.None);

        Assert.Equal(0m, (await _store.GetAsync("key|k1|d20260131", CancellationToken.None)).SpentUsd);
        Assert.Equal(0m, (await _store.GetAsync("key|k1|m202601", CancellationToken.None)).SpentUsd);
        var held = await _store.GetAsync("tenant|t|d20260131", CancellationToken.None);
        Assert.Equal(3m, held.SpentUsd);
        Assert.Equal(slice, Assert.Single(held.Leases));
        Assert.Equal(4m, (await _store.GetAsync("session|s", CancellationToken.None)).SpentUsd);
        var today = await _store.GetAsync("key|k1|d20260201", CancellationToken.None);
        Assert.Equal(5m, today.SpentUsd);
        Assert.Equal(3, _store.RowCount);

        // Writing more to today changes nothing else; the next day takes the slice's row, long expired by then.
        await _store.AddAsync("key|k1|d20260201", 1m, "op6", CancellationToken.None);
        await _store.AddAsync("key|k1|m202602", 1m, "op7", CancellationToken.None);
        Assert.Equal(4, _store.RowCount);
        Assert.Equal(6m, (await _store.GetAsync("key|k1|d20260201", CancellationToken.None)).SpentUsd);

        await _store.AddAsync("key|k1|d20260202", 1m, "op8", CancellationToken.None);
        Assert.Equal(SpendRow.Empty, await _store.GetAsync("tenant|t|d20260131", CancellationToken.None));
        Assert.Equal(1m, (await _store.GetAsync("key|k1|m202602", CancellationToken.None)).SpentUsd);
        Assert.Equal(["key|k1|d20260202", "key|k1|m202602", "session|s"], await RowsAsync("key|k1|d20260201", "key|k1|d20260202", "key|k1|m202602", "session|s", "tenant|t|d20260131"));
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

    private static DateTimeOffset At(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
}
