using Router.Core.Audits;
using Router.Core.Tests.Caching;
using Router.Infrastructure.Audits;
using Router.Infrastructure.Metering;

namespace Router.Core.Tests.Metering;

/// <summary>Audit: stores of the embedded server (no storage configured) that keep a row per request or per scope and
/// day for as long as the process lives. The usage ledger is bounded (<see cref="InMemoryUsageLedger.MaxRows"/>); these
/// are not.</summary>
[Collection(nameof(HeapMeasuringCollection))]
public sealed class InMemoryStoreGrowthTests
{
    [Fact]
    public async Task The_in_memory_audit_store_is_bounded_like_the_usage_ledger()
    {
        // Every medium/high-risk answer not served by premium is audited (RiskSampleRate 1.0), so a tenant's prompts set
        // the rate; each result is kept under its request id forever.
        var store = new InMemoryAuditStore();
        var at = DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < InMemoryUsageLedger.MaxRows + 10_000; i++)
        {
            await store.TryAddAsync(new AuditResult
            {
                RequestId = "req_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                TenantId = "t",
                RequestTime = at,
                AuditedAt = at,
                Task = "qa",
                Band = "low",
                Model = "gpt-4o-mini",
                Tier = "economy",
                Reason = "risk",
                Verdict = AuditVerdict.Equivalent,
                Score = 1,
            }, CancellationToken.None);
        }

        var kept = 0;
        await foreach (var _ in store.QueryAsync(DateTimeOffset.MinValue, CancellationToken.None))
        {
            kept++;
        }

        Assert.True(kept <= InMemoryUsageLedger.MaxRows, $"{kept:N0} audit results kept");
    }

    [Fact]
    public async Task The_in_memory_spend_store_does_not_keep_every_past_day_of_every_capped_key()
    {
        // A key with a daily budget gets a scope per UTC day (key|id|dYYYYMMDD); BudgetGuard forgets yesterday's, the
        // store keeps its row and the names of its last 32 settlements for good.
        var store = new InMemorySpendStore();
        const int keys = 200;
        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        long afterFiveDays = 0;
        for (var day = 0; day < 60; day++)
        {
            var date = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(day).ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);
            for (var key = 0; key < keys; key++)
            {
                for (var settlement = 0; settlement < 32; settlement++)
                {
                    await store.UpdateAsync($"key|key_{key:x16}|d{date}", Guid.NewGuid().ToString("N"), r => r with { SpentUsd = r.SpentUsd + 0.01m }, CancellationToken.None);
                }
            }

            if (day == 4)
            {
                afterFiveDays = GC.GetTotalMemory(forceFullCollection: true);
            }
        }

        var afterSixtyDays = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(store);

        // Only today's and this month's rows are ever read again: 55 more days may not cost more than the first five.
        Assert.True(afterSixtyDays - afterFiveDays < afterFiveDays - before,
            $"first 5 days: {afterFiveDays - before:N0} bytes; the next 55: {afterSixtyDays - afterFiveDays:N0} bytes more");
    }
}
