using System.Collections.Concurrent;
using System.Globalization;
using Router.Core.Chat;

namespace Router.Core.Metering;

/// <summary>Settled spend per budget scope (tenant or key, per UTC day or month), shared by every router instance.</summary>
public interface ISpendStore
{
    /// <summary>Spend recorded so far for <paramref name="scope"/>.</summary>
    ValueTask<decimal> GetAsync(string scope, CancellationToken cancellationToken);

    /// <summary>Adds <paramref name="amount"/> to <paramref name="scope"/> (safe under concurrency). <paramref name="operationId"/>
    /// names this addition: a retry of one that committed but whose answer was lost is not added twice.</summary>
    ValueTask AddAsync(string scope, decimal amount, string operationId, CancellationToken cancellationToken);
}

/// <summary>Money set aside for a request in flight (against the budgets and the session's cap), released when it is settled.</summary>
public sealed class BudgetReservation
{
    internal BudgetReservation(IReadOnlyList<string> scopes, decimal amount)
    {
        Scopes = scopes;
        Amount = amount;
        Id = scopes.Count == 0 ? "" : Guid.NewGuid().ToString("N");
    }

    /// <summary>Names the settlement in the spend store, so a retried write is not counted twice.</summary>
    internal string Id { get; }

    internal IReadOnlyList<string> Scopes { get; }

    internal decimal Amount { get; }

    /// <summary>The part set aside against the session's spend cap, settled with the rest.</summary>
    internal SessionReservation Session { get; set; } = SessionReservation.None;

    internal int Settled;
}

/// <summary>Daily and monthly spend caps per tenant and per key. A request reserves its worst-case cost before the call
/// and settles the actual cost after it. A request is admitted while settled spend plus reservations stays under every
/// cap; when only reservations stand in the way it waits for them to settle, so nobody is refused before the money is
/// really spent, and spend can pass a cap by at most one request's cost.</summary>
public sealed class BudgetGuard(ISpendStore store, TimeProvider time)
{
    private static readonly TimeSpan RefreshAfter = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, Scope> _scopes = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private static readonly List<(string Scope, decimal Cap, string Label)> NoCaps = [];   // never changed

    /// <summary>Reserves <paramref name="estimateUsd"/> against every cap that applies, or returns a 402 error.</summary>
    public async ValueTask<(BudgetReservation? Reservation, RouterError? Error)> ReserveAsync(
        TenantPolicy policy, Caller caller, decimal estimateUsd, CancellationToken cancellationToken)
    {
        var caps = Caps(policy, caller, time.GetUtcNow());
        if (caps.Count == 0)
        {
            return (new BudgetReservation([], 0), null);
        }

        var deadline = time.GetUtcNow() + MaxWait;
        while (true)
        {
            Task? wait = null;
            foreach (var (scopeKey, _, _) in caps)
            {
                await Get(scopeKey).RefreshAsync(store, time, _gate, cancellationToken);
            }

            lock (_gate)
            {
                string? exhausted = null;
                foreach (var (scopeKey, cap, label) in caps)
                {
                    var scope = Get(scopeKey);
                    if (scope.Spent >= cap)
                    {
                        exhausted = $"The {label} budget of ${cap.ToString("0.00######", CultureInfo.InvariantCulture)} is spent (${scope.Spent.ToString("0.00######", CultureInfo.InvariantCulture)}).";
                        break;
                    }

                    if (scope.Spent + scope.Reserved >= cap)
                    {
                        wait ??= scope.NextSettlement;
                    }
                }

                if (exhausted is not null)
                {
                    return (null, new RouterError(402, "insufficient_quota", "budget_exceeded", exhausted));
                }

                if (wait is null)
                {
                    foreach (var (scopeKey, _, _) in caps)
                    {
                        Get(scopeKey).Reserved += estimateUsd;
                    }

                    return (new BudgetReservation(caps.Select(c => c.Scope).ToArray(), estimateUsd), null);
                }
            }

            var remaining = deadline - time.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                return (null, new RouterError(402, "insufficient_quota", "budget_exceeded",
                    "The budget is fully reserved by requests in flight; try again shortly.", RetryAfter: TimeSpan.FromSeconds(5)));
            }

            await wait.WaitAsync(remaining < TimeSpan.FromSeconds(1) ? remaining : TimeSpan.FromSeconds(1), time, cancellationToken)
                .ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Replaces the reservation with the actual cost (call once; later calls do nothing).</summary>
    public async Task SettleAsync(BudgetReservation reservation, decimal actualUsd, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref reservation.Settled, 1) == 1 || reservation.Scopes.Count == 0)
        {
            return;
        }

        lock (_gate)
        {
            foreach (var scopeKey in reservation.Scopes)
            {
                var scope = Get(scopeKey);
                scope.Reserved -= reservation.Amount;
                scope.Spent += actualUsd;
            }
        }

        // Every scope's waiters are woken whatever happens to the shared counters: the local view above is settled.
        try
        {
            foreach (var scopeKey in reservation.Scopes)
            {
                if (actualUsd > 0)
                {
                    await store.AddAsync(scopeKey, actualUsd, reservation.Id, cancellationToken);
                }
            }
        }
        finally
        {
            foreach (var scopeKey in reservation.Scopes)
            {
                Get(scopeKey).Signal();
            }
        }
    }

    private Scope Get(string key) => _scopes.GetOrAdd(key, k => new Scope(k));

    private static List<(string Scope, decimal Cap, string Label)> Caps(TenantPolicy policy, Caller caller, DateTimeOffset now)
    {
        var keyCapped = caller.LimitsScope is not null && caller.Limits is { DailyBudgetUsd: not null } or { MonthlyBudgetUsd: not null };
        if (policy.DailyBudgetUsd is null && policy.MonthlyBudgetUsd is null && !keyCapped)
        {
            // Most requests: no budget applies, so no dates are formatted and no list is made.
            return NoCaps;
        }

        var day = now.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        var month = now.UtcDateTime.ToString("yyyyMM", CultureInfo.InvariantCulture);
        var caps = new List<(string, decimal, string)>(4);
        if (policy.DailyBudgetUsd is { } tenantDaily)
        {
            caps.Add(($"tenant|{policy.TenantId}|d{day}", tenantDaily, "tenant's daily"));
        }

        if (policy.MonthlyBudgetUsd is { } tenantMonthly)
        {
            caps.Add(($"tenant|{policy.TenantId}|m{month}", tenantMonthly, "tenant's monthly"));
        }

        if (caller.LimitsScope is { } keyId && caller.Limits?.DailyBudgetUsd is { } keyDaily)
        {
            caps.Add(($"key|{keyId}|d{day}", keyDaily, "key's daily"));
        }

        if (caller.LimitsScope is { } id && caller.Limits?.MonthlyBudgetUsd is { } keyMonthly)
        {
            caps.Add(($"key|{id}|m{month}", keyMonthly, "key's monthly"));
        }

        return caps;
    }

    private sealed class Scope(string key)
    {
        private TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private DateTimeOffset _loadedAt = DateTimeOffset.MinValue;

        public decimal Spent { get; set; }

        public decimal Reserved { get; set; }

        public Task NextSettlement => Volatile.Read(ref _settled).Task;

        public void Signal() => Interlocked.Exchange(ref _settled, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

        // Other instances add to the store too: re-read it now and then. The store holds this instance's settled
        // spend as well, so the larger of the two views is the closer one.
        public async ValueTask RefreshAsync(ISpendStore store, TimeProvider time, Lock gate, CancellationToken cancellationToken)
        {
            if (time.GetUtcNow() - _loadedAt < RefreshAfter)
            {
                return;
            }

            var stored = await store.GetAsync(key, cancellationToken);
            lock (gate)
            {
                Spent = Math.Max(Spent, stored);
                _loadedAt = time.GetUtcNow();
            }
        }
    }
}
