using System.Globalization;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Chat;
using Router.Core.Metering;
using Router.Infrastructure.Metering;

namespace Router.Core.Tests.Metering;

/// <summary>Review findings on the budget slices: each test fails on 5d230c5.</summary>
public sealed class BudgetReviewTests
{
    private static readonly Caller Caller = new("acme", "key-1");
    private static readonly TenantPolicy Policy = TenantPolicy.Default("acme") with { DailyBudgetUsd = 1m };
    private const string Scope = "tenant|acme|d20260101";

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
    private readonly InMemorySpendStore _store = new();

    private BudgetGuard Instance(ISpendStore store) =>
        new(store, _time, Options.Create(new BudgetOptions { LeaseTtl = TimeSpan.FromSeconds(30), LeaseShare = 1.0 }));

    private async Task<SpendRow> RowAsync(string scope = Scope) => await _store.GetAsync(scope, CancellationToken.None);

    private async Task AdvanceAsync(TimeSpan span)
    {
        for (var elapsed = TimeSpan.Zero; elapsed < span; elapsed += TimeSpan.FromSeconds(1))
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(10);
        }
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
            await Task.Delay(10);
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
}
