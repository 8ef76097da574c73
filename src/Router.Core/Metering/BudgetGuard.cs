using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Router.Core.Chat;

namespace Router.Core.Metering;

/// <summary>Money set aside for a request in flight (against the budgets and the session's cap), released when it is settled.</summary>
public sealed class BudgetReservation
{
    internal BudgetReservation(IReadOnlyList<string> scopes, decimal amount, IReadOnlyList<decimal>? caps = null)
    {
        Scopes = scopes;
        Caps = caps ?? [];
        Amount = amount;
        Id = scopes.Count == 0 ? "" : Guid.NewGuid().ToString("N");
    }

    /// <summary>Names the settlement in the spend store, so a retried write is not counted twice.</summary>
    internal string Id { get; }

    internal IReadOnlyList<string> Scopes { get; }

    /// <summary>The cap of each scope when the reservation was made.</summary>
    internal IReadOnlyList<decimal> Caps { get; }

    internal decimal Amount { get; }

    /// <summary>The part set aside against the session's spend cap, settled with the rest.</summary>
    internal SessionReservation Session { get; set; } = SessionReservation.None;

    internal int Settled;
}

/// <summary>Daily and monthly spend caps per tenant and per key, held across router instances. A request reserves its
/// worst-case cost before the call and settles the actual cost after it. An instance reserves against a slice of each cap
/// it has claimed in the shared spend store (<see cref="BudgetLease"/>), so instances together never set aside more than
/// the cap, and it asks the store only when its slice runs short, not per request. A request is admitted while settled
/// spend plus the money set aside stays under every cap; when only money set aside stands in the way it waits for it to
/// settle, so nobody is refused before the money is really spent, and spend can pass a cap by at most one request's cost.</summary>
public sealed partial class BudgetGuard : IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(30);

    // A claim the store refused is not asked again for this long: requests waiting for money poll once a second per
    // scope and instance, whatever their number.
    private static readonly TimeSpan ClaimRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MinClaimTime = TimeSpan.FromSeconds(5);
    private static readonly List<(string Scope, decimal Cap, string Label)> NoCaps = [];   // never changed

    // A scope of a past day or month is forgotten once it has been unused for this long (longer than a request waits for
    // money and its last claim, so no request still holds it) and holds nothing.
    private static readonly TimeSpan ForgetAfter = TimeSpan.FromMinutes(2);

    /// <summary>Settlements whose write failed kept per scope for retrying: past this the oldest is given up (logged).</summary>
    internal const int MaxUnrecorded = 1000;

    private readonly ConcurrentDictionary<string, Scope> _scopes = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly ISpendStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _ttl;
    private readonly decimal _share;
    private readonly ITimer _upkeep;
    private readonly CancellationTokenSource _stopping = new();
    private Task _upkeepPass = Task.CompletedTask;
    private bool _stopped;

    /// <summary>Creates the guard of one router instance; <paramref name="options"/> default to <see cref="BudgetOptions"/>'s defaults.</summary>
    public BudgetGuard(ISpendStore store, TimeProvider time, IOptions<BudgetOptions>? options = null, ILogger<BudgetGuard>? logger = null)
    {
        _store = store;
        _time = time;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        var settings = options?.Value ?? new BudgetOptions();
        _ttl = settings.LeaseTtl;
        _share = (decimal)settings.LeaseShare;
        _upkeep = time.CreateTimer(_ => _ = UpkeepAsync(), null, UpkeepPeriod, UpkeepPeriod);
    }

    /// <summary>Names this instance's slices in the spend store.</summary>
    internal string Holder { get; } = Guid.NewGuid().ToString("N");

    // Slices are renewed and idle ones given back at this period; a slice is not used in the last third of its life.
    private TimeSpan UpkeepPeriod => _ttl / 6;

    private TimeSpan UsableMargin => _ttl / 3;

    /// <summary>Reserves <paramref name="estimateUsd"/> against every cap that applies, or returns a 402 error.</summary>
    public async ValueTask<(BudgetReservation? Reservation, RouterError? Error)> ReserveAsync(
        TenantPolicy policy, Caller caller, decimal estimateUsd, CancellationToken cancellationToken)
    {
        var caps = Caps(policy, caller, _time.GetUtcNow());
        if (caps.Count == 0)
        {
            return (new BudgetReservation([], 0), null);
        }

        var scopes = new Scope[caps.Count];
        for (var i = 0; i < caps.Count; i++)
        {
            scopes[i] = Get(caps[i].Scope);
        }

        var deadline = _time.GetUtcNow() + MaxWait;
        while (true)
        {
            if (TryReserve(caps, scopes, estimateUsd) is { } reservation)
            {
                return (reservation, null);
            }

            // A slice that does not cover this request grows by a claim in the store; one the store cannot grow waits
            // for the money set aside to settle (here or on another instance).
            Task? wait = null;
            for (var i = 0; i < caps.Count; i++)
            {
                var (_, cap, label) = caps[i];
                var scope = scopes[i];
                var settlement = scope.NextSettlement;
                switch (await ClaimAsync(scope, cap, estimateUsd, deadline, cancellationToken))
                {
                    case ClaimOutcome.Spent:
                        decimal spent;
                        lock (_gate)
                        {
                            spent = scope.Spent;
                        }

                        return (null, new RouterError(402, "insufficient_quota", "budget_exceeded",
                            $"The {label} budget of ${cap.ToString("0.00######", CultureInfo.InvariantCulture)} is spent (${spent.ToString("0.00######", CultureInfo.InvariantCulture)})."));
                    case ClaimOutcome.Held:
                        wait ??= settlement;
                        break;
                }
            }

            if (wait is null)
            {
                continue;   // every slice covers the request now, unless other requests took it first
            }

            var remaining = deadline - _time.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                return (null, new RouterError(402, "insufficient_quota", "budget_exceeded",
                    "The budget is fully reserved by requests in flight; try again shortly.", RetryAfter: TimeSpan.FromSeconds(5)));
            }

            await wait.WaitAsync(remaining < ClaimRetry ? remaining : ClaimRetry, _time, cancellationToken)
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

        // Until the store has moved the cost from this instance's slice to settled spend, the whole reservation stays set
        // aside: the write may also take what the request did not use out of the slice (past the cap), so that part is
        // not lent to another request before the answer comes back either.
        var moved = Math.Min(actualUsd, reservation.Amount);
        var held = actualUsd > 0 ? reservation.Amount : 0;
        var now = _time.GetUtcNow();
        var scopes = new Scope[reservation.Scopes.Count];
        lock (_gate)
        {
            for (var i = 0; i < scopes.Length; i++)
            {
                // The reservation keeps its scopes from being forgotten until here.
                var scope = scopes[i] = Get(reservation.Scopes[i]);
                scope.Reserved -= reservation.Amount;
                scope.Pending += held;
                scope.LastActive = now;
            }
        }

        // Every scope's waiters are woken whatever happens to the shared rows: the local view above is settled.
        Exception? failure = null;
        for (var i = 0; i < reservation.Scopes.Count; i++)
        {
            var scopeKey = reservation.Scopes[i];
            var scope = scopes[i];
            try
            {
                if (actualUsd > 0)
                {
                    var cap = reservation.Caps[i];
                    var row = await _store.UpdateAsync(scopeKey, reservation.Id,
                        r => BudgetLeases.Settle(r, Holder, cap, actualUsd, reservation.Amount, _time.GetUtcNow(), _ttl), cancellationToken);
                    lock (_gate)
                    {
                        scope.Pending -= held;
                        scope.Apply(row, Holder);
                    }
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The store does not know of this spend (or the answer was lost): this instance counts it as spent, its
                // slice, which still holds the money, neither lends it again nor gives it back, and upkeep writes it
                // again under the same name until the store has it.
                Unrecorded? dropped;
                lock (_gate)
                {
                    scope.Pending -= held;
                    dropped = scope.AddUnrecorded(new Unrecorded(reservation.Id, reservation.Caps[i], actualUsd, reservation.Amount)
                    {
                        InSlice = scope.HoldsLease ? moved : 0,
                    });
                }

                Log.SettlementNotRecorded(_logger, scopeKey, reservation.Id, ex.GetType().Name);
                if (dropped is not null)
                {
                    Log.SettlementDropped(_logger, scopeKey, dropped.OperationId, dropped.ActualUsd);
                }

                failure ??= ex;
            }
            finally
            {
                scope.Signal();
            }
        }

        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }

    /// <summary>Stops renewing slices; what they hold comes back to the other instances when they expire.</summary>
    public void Dispose()
    {
        Stop();
        _upkeep.Dispose();
    }

    /// <summary>Stops upkeep (waiting for a pass under way), writes the settlements not yet recorded and gives back what
    /// this instance's slices hold beyond its requests in flight, within 5 s in all.</summary>
    public async ValueTask DisposeAsync()
    {
        var running = Stop();
        await _upkeep.DisposeAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), _time);

        // A pass under way gives up its writes and is waited for, so none of them (a renewal, a slice given back, a
        // settlement written again) overlaps or follows those below.
        try
        {
            await running.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Log.UpkeepNotStopped(_logger);
        }

        foreach (var scope in _scopes.Values)
        {
            await RecordAsync(scope, timeout.Token);
        }

        foreach (var scope in _scopes.Values)
        {
            await ReleaseAsync(scope, timeout.Token);
            lock (_gate)
            {
                foreach (var entry in scope.UnrecordedEntries)
                {
                    Log.SettlementDropped(_logger, scope.Key, entry.OperationId, entry.ActualUsd);
                }
            }
        }
    }

    // No upkeep pass starts after this, and the one under way (returned) gives up its writes.
    private Task Stop()
    {
        Task running;
        lock (_gate)
        {
            running = _upkeepPass;
            _stopped = true;
        }

        _stopping.Cancel();
        return running;
    }

    /// <summary>Renews the slices in use, writes the settlements whose write failed, gives back slices unused for a while
    /// and forgets scopes of past days and months that hold nothing (run by a timer; exposed for tests). Does nothing
    /// while a pass is under way or once the guard is stopping.</summary>
    internal async Task UpkeepAsync()
    {
        var pass = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_stopped || !_upkeepPass.IsCompleted)
            {
                return;
            }

            _upkeepPass = pass.Task;
        }

        try
        {
            await UpkeepAsync(_stopping.Token);
        }
        finally
        {
            pass.SetResult();
        }
    }

    private async Task UpkeepAsync(CancellationToken stopping)
    {
        var scopes = _scopes.Values.ToArray();

        // Renewals come first and wait behind no settlement: after a storage outage those can be many, and a slice
        // left unrenewed past its time to live is taken by other instances while its requests are still in flight.
        // Every slice's renewal at once, each bounded by a tick: a row the store does not answer (a throttled partition)
        // holds up no other slice's renewal.
        if (stopping.IsCancellationRequested)
        {
            return;
        }

        await Task.WhenAll(scopes.Select(scope => RenewAsync(scope, stopping)));

        // Settlements are written again next, every scope's at once and all within half a tick, so a backlog delays
        // neither the next pass's renewals nor other scopes' settlements; what is left waits for the next tick. They
        // go before idle slices are given back, so that what they take out of a slice is not given back with the rest.
        using (var timeout = new CancellationTokenSource(UpkeepPeriod / 2, _time))
        using (var bounded = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stopping))
        {
            await Task.WhenAll(scopes.Select(scope => RecordAsync(scope, bounded.Token)));
        }

        var today = _time.GetUtcNow().UtcDateTime;
        var day = "d" + today.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        var month = "m" + today.ToString("yyyyMM", CultureInfo.InvariantCulture);
        var idleScopes = new List<Scope>();
        foreach (var scope in scopes)
        {
            if (stopping.IsCancellationRequested)
            {
                return;
            }

            var now = _time.GetUtcNow();
            bool idle;
            lock (_gate)
            {
                if (!scope.HoldsLease)
                {
                    // A request that looked the scope up just before midnight may still reserve on it: it finds it
                    // retired (under this lock) and looks it up again.
                    if (now - scope.LastActive >= ForgetAfter && scope.Forgettable && !scope.Key.EndsWith(day, StringComparison.Ordinal)
                        && !scope.Key.EndsWith(month, StringComparison.Ordinal) && scope.Claiming.CurrentCount == 1
                        && _scopes.TryRemove(new KeyValuePair<string, Scope>(scope.Key, scope)))
                    {
                        scope.Retired = true;
                    }

                    continue;
                }

                idle = IsIdle(scope, now);
            }

            if (idle)
            {
                idleScopes.Add(scope);
            }
        }

        // Idle slices are given back at once too, within half a tick, so the next pass's renewals are not held up.
        using (var timeout = new CancellationTokenSource(UpkeepPeriod / 2, _time))
        using (var bounded = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stopping))
        {
            await Task.WhenAll(idleScopes.Select(scope => ReleaseAsync(scope, bounded.Token)));
        }
    }

    // A write the store does not answer (its retries take minutes) holds up this slice until the next tick, not the
    // renewal of every other. An idle slice is left to be given back, unless it still holds settlements the store does
    // not know of (or in the middle of being written): then it is kept for them, and so renewed.
    private async Task RenewAsync(Scope scope, CancellationToken stopping)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (!scope.HoldsLease || scope.ExpiresAt - now >= _ttl - UsableMargin
                || (IsIdle(scope, now) && scope.LostInSlice <= 0 && scope.Pending <= 0))
            {
                return;
            }
        }

        using var timeout = new CancellationTokenSource(UpkeepPeriod, _time);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stopping);
        try
        {
            var row = await _store.UpdateAsync(scope.Key, "", r => BudgetLeases.Renew(r, Holder, _time.GetUtcNow(), _ttl), bounded.Token);
            lock (_gate)
            {
                scope.Apply(row, Holder);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.LeaseNotRenewed(_logger, scope.Key, ex.GetType().Name);
        }
    }

    private bool IsIdle(Scope scope, DateTimeOffset now) => scope.Reserved <= 0 && now - scope.LastActive >= UpkeepPeriod;

    // Writes the scope's settlements whose write failed, oldest first, under their own names: one whose earlier write had
    // in fact committed is found in the row and not applied again. Stops at the first failure (the store is likely
    // still out of reach) until the next tick.
    private async Task RecordAsync(Scope scope, CancellationToken cancellationToken)
    {
        while (true)
        {
            Unrecorded? entry;
            lock (_gate)
            {
                entry = scope.NextUnrecorded;
                if (entry is null)
                {
                    return;
                }
            }

            var changed = false;
            SpendRow row;
            try
            {
                // Only what the slice still holds of this settlement is moved out of it: what the request set aside beyond
                // that was back in use here since the failure.
                // What the slice holds is read as each attempt is made, not before the call: a row that dropped this
                // holder's slice meanwhile set it to zero, and a slice claimed since does not hold this money.
                row = await _store.UpdateAsync(scope.Key, entry.OperationId, r =>
                {
                    changed = true;
                    decimal inSlice;
                    lock (_gate)
                    {
                        inSlice = entry.InSlice;
                    }

                    return BudgetLeases.Settle(r, Holder, entry.Cap, entry.ActualUsd, Math.Min(inSlice, entry.SetAsideUsd), _time.GetUtcNow(), _ttl);
                }, cancellationToken);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.SettlementNotRecorded(_logger, scope.Key, entry.OperationId, ex.GetType().Name);
                return;
            }

            lock (_gate)
            {
                scope.RemoveUnrecorded(entry);
                scope.Apply(row, Holder);
            }

            if (!changed)
            {
                Log.SettlementFoundRecorded(_logger, scope.Key, entry.OperationId);
            }

            scope.Signal();
        }
    }

    private BudgetReservation? TryReserve(List<(string Scope, decimal Cap, string Label)> caps, Scope[] scopes, decimal estimateUsd)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            for (var i = 0; i < scopes.Length; i++)
            {
                // Forgotten by upkeep since the request looked it up (at a day's or month's end): money reserved on it would
                // be neither renewed nor given back. Under the lock a scope looked up again cannot be forgotten before
                // the reservation marks it in use.
                if (scopes[i].Retired)
                {
                    scopes[i] = Get(caps[i].Scope);
                }

                if (!scopes[i].Covers(estimateUsd, caps[i].Cap, now, UsableMargin))
                {
                    return null;
                }
            }

            foreach (var scope in scopes)
            {
                scope.Reserved += estimateUsd;
                scope.LastActive = now;
            }
        }

        var keys = new string[caps.Count];
        var limits = new decimal[caps.Count];
        for (var i = 0; i < caps.Count; i++)
        {
            keys[i] = caps[i].Scope;
            limits[i] = caps[i].Cap;
        }

        return new BudgetReservation(keys, estimateUsd, limits);
    }

    // One claim at a time per scope on this instance: requests that wait behind it usually find their slice grown. Neither
    // the wait for another request's claim nor the store's answer (whose retries take minutes when storage cannot be
    // reached) outlasts the request's own wait for money: requests do not queue behind one another's store timeouts.
    private async ValueTask<ClaimOutcome> ClaimAsync(Scope scope, decimal cap, decimal estimateUsd, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        // A claim made as the wait runs out (the last poll) still gets a few seconds.
        var remaining = deadline - _time.GetUtcNow();
        using var timeout = new CancellationTokenSource(remaining > MinClaimTime ? remaining : MinClaimTime, _time);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            return await ClaimAsync(scope, cap, estimateUsd, bounded.Token);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"The spend store did not answer a claim on the budget {scope.Key} in time.", ex);
        }
    }

    private async ValueTask<ClaimOutcome> ClaimAsync(Scope scope, decimal cap, decimal estimateUsd, CancellationToken cancellationToken)
    {
        await scope.Claiming.WaitAsync(cancellationToken);
        try
        {
            var now = _time.GetUtcNow();
            decimal reserved, unrecorded;
            lock (_gate)
            {
                // A scope forgotten since the request looked it up is claimed on no more: the caller looks it up again
                // before it reserves. Upkeep forgets none while a claim holds it (it checks under this lock).
                if (scope.Retired)
                {
                    return ClaimOutcome.Granted;
                }

                if (scope.Covers(estimateUsd, cap, now, UsableMargin))
                {
                    // The slice already covers a request that may still wait on another scope: it is in use.
                    scope.LastActive = now;
                    return ClaimOutcome.Granted;
                }

                // (Not for a higher cap than the refusal's: a cap just raised is asked about at once.)
                if (scope.Refused is { } refused && now - scope.RefusedAt < ClaimRetry && cap <= scope.RefusedUnder)
                {
                    return refused;
                }

                reserved = scope.Reserved + scope.Pending + scope.LostInSlice + scope.DroppedInSlice;
                unrecorded = scope.Lost;
            }

            var outcome = ClaimOutcome.Held;
            var row = await _store.UpdateAsync(scope.Key, "",
                r => BudgetLeases.Claim(r, Holder, cap, reserved, unrecorded, estimateUsd, _share, _time.GetUtcNow(), _ttl, out outcome), cancellationToken);
            lock (_gate)
            {
                scope.Apply(row, Holder);
                scope.Refused = outcome == ClaimOutcome.Granted ? null : outcome;
                if (outcome != ClaimOutcome.Spent)
                {
                    // The claim fitted the slice to this cap (a spent cap leaves the slice as it was).
                    scope.ClaimedUnder = cap;
                }

                scope.RefusedAt = now;
                scope.RefusedUnder = cap;

                // A slice claimed for a request still waiting on another scope is in use: upkeep does not give it back.
                scope.LastActive = _time.GetUtcNow();
            }

            return outcome;
        }
        finally
        {
            scope.Claiming.Release();
        }
    }

    // Gives back what the slice holds beyond the requests in flight. Claims wait meanwhile, and the slice is not used
    // while the write is under way, so nothing is admitted against money being given back.
    private async Task ReleaseAsync(Scope scope, CancellationToken cancellationToken)
    {
        if (!await scope.Claiming.WaitAsync(0, CancellationToken.None))
        {
            return;   // a claim is under way: the slice is in use
        }

        decimal keep = 0;
        try
        {
            decimal dropped;
            lock (_gate)
            {
                if (!scope.HoldsLease)
                {
                    return;
                }

                scope.Releasing = true;

                // Spend given up unrecorded goes back to the pool with the rest (as logged when it was given up): after
                // this the slice no longer holds it, so it need not be kept out of it here either.
                dropped = scope.DroppedInSlice;

                // Spend whose write failed stays in the slice until it is written: given back, other instances would
                // lend money that is already spent.
                keep = scope.Reserved + scope.Pending + scope.LostInSlice;
            }

            var row = await _store.UpdateAsync(scope.Key, "", r => BudgetLeases.Release(r, Holder, keep, _time.GetUtcNow()), cancellationToken);
            lock (_gate)
            {
                scope.DroppedInSlice = Math.Max(0, scope.DroppedInSlice - dropped);
                scope.Apply(row, Holder);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // It stays claimed until it expires, unless the write committed and only its answer was lost (a timeout, or
            // a cancellation after the request went out): until a row is read again, the slice is taken to hold no more
            // than was kept, so nothing is lent here against money that may be back in the pool.
            lock (_gate)
            {
                scope.AssumeGivenBack(keep);
            }

            Log.LeaseNotReleased(_logger, scope.Key, ex.GetType().Name);
        }
        finally
        {
            lock (_gate)
            {
                scope.Releasing = false;
            }

            scope.Claiming.Release();
        }
    }

    private Scope Get(string key) => _scopes.TryGetValue(key, out var scope) ? scope : _scopes.GetOrAdd(key, k => new Scope(k, _time.GetUtcNow()));

    /// <summary>Scopes this instance keeps state for (exposed for tests).</summary>
    internal int ScopeCount => _scopes.Count;

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

    // This instance's view of one scope; fields are read and written under the guard's lock.
    private sealed class Scope(string key, DateTimeOffset created)
    {
        private readonly LinkedList<Unrecorded> _unrecorded = new();
        private TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _version = -1;
        private decimal _recorded;

        public string Key { get; } = key;

        public SemaphoreSlim Claiming { get; } = new(1, 1);

        /// <summary>Settled spend as last read from the store, plus what settled here but could not be written.</summary>
        public decimal Spent => _recorded + Lost;

        /// <summary>This instance's slice as last read from the store.</summary>
        public decimal Lease { get; private set; }

        public DateTimeOffset ExpiresAt { get; private set; } = DateTimeOffset.MinValue;

        public bool HoldsLease => ExpiresAt != DateTimeOffset.MinValue;

        /// <summary>Set aside by this instance's requests in flight.</summary>
        public decimal Reserved { get; set; }

        /// <summary>Settled here, the write to the store under way: not to be lent again meanwhile.</summary>
        public decimal Pending { get; set; }

        /// <summary>Settled here but the store's write failed: spent, though the store does not know it (yet).</summary>
        public decimal Lost { get; private set; }

        /// <summary>The part of <see cref="Lost"/> the slice still holds in the store: neither lent again nor given back.</summary>
        public decimal LostInSlice { get; private set; }

        /// <summary>What the slice holds of settlements given up unrecorded (past <see cref="MaxUnrecorded"/>): spent, so
        /// not lent again here, but given back with the rest when the slice is.</summary>
        public decimal DroppedInSlice { get; set; }

        public DateTimeOffset LastActive { get; set; } = created;

        /// <summary>The oldest settlement still to be written, if any.</summary>
        public Unrecorded? NextUnrecorded => _unrecorded.First?.Value;

        public IEnumerable<Unrecorded> UnrecordedEntries => [.. _unrecorded];

        /// <summary>Holds nothing this instance must keep: no slice, request in flight or settlement to write.</summary>
        public bool Forgettable => !HoldsLease && Reserved <= 0 && Pending <= 0 && _unrecorded.Count == 0;

        /// <summary>Keeps a settlement whose write failed for retrying; returns the oldest if it had to be given up for room
        /// (still counted as spent here, and not lent again from the slice, which gives it back when it is released).</summary>
        public Unrecorded? AddUnrecorded(Unrecorded entry)
        {
            Lost += entry.ActualUsd;
            LostInSlice += entry.InSlice;
            _unrecorded.AddLast(entry);
            if (_unrecorded.Count <= MaxUnrecorded)
            {
                return null;
            }

            var dropped = _unrecorded.First!.Value;
            _unrecorded.RemoveFirst();
            LostInSlice -= dropped.InSlice;
            DroppedInSlice += dropped.InSlice;
            return dropped;
        }

        /// <summary>The store has the settlement now: it is in settled spend and out of the slice.</summary>
        public void RemoveUnrecorded(Unrecorded entry)
        {
            if (_unrecorded.Remove(entry))
            {
                Lost -= entry.ActualUsd;
                LostInSlice -= entry.InSlice;
            }
        }

        public bool Releasing { get; set; }

        /// <summary>A give-back whose outcome is unknown: the slice is taken to hold at most <paramref name="keep"/> until
        /// the next row read says how much it holds.</summary>
        public void AssumeGivenBack(decimal keep) => Lease = Math.Min(Lease, keep);

        /// <summary>Forgotten by upkeep: no request may reserve or claim on it any more.</summary>
        public bool Retired { get; set; }

        public ClaimOutcome? Refused { get; set; }

        public DateTimeOffset RefusedAt { get; set; }

        public decimal RefusedUnder { get; set; }

        public Task NextSettlement => Volatile.Read(ref _settled).Task;

        public void Signal() => Interlocked.Exchange(ref _settled, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

        /// <summary>The cap the slice was last claimed under: it serves requests under that cap or a higher one. A lower
        /// cap (lowered by an operator since) takes a claim first, which fits the slice to it.</summary>
        public decimal ClaimedUnder { get; set; } = decimal.MaxValue;

        public bool Covers(decimal estimateUsd, decimal cap, DateTimeOffset now, TimeSpan margin) =>
            !Releasing && HoldsLease && cap >= ClaimedUnder && now + margin < ExpiresAt
            && Reserved + Pending + LostInSlice + DroppedInSlice + estimateUsd <= Lease;

        // Answers to this instance's writes can arrive out of order: only a newer row replaces the view.
        public void Apply(SpendRow row, string holder)
        {
            if (row.Version < _version)
            {
                return;
            }

            _version = row.Version;
            _recorded = row.SpentUsd;
            var mine = row.LeaseOf(holder);
            Lease = mine?.AmountUsd ?? 0;
            ExpiresAt = mine?.ExpiresAt ?? DateTimeOffset.MinValue;
            if (mine is null)
            {
                // The slice is gone (given back, or taken after it expired): what it held of unrecorded spend with it.
                LostInSlice = 0;
                DroppedInSlice = 0;
                foreach (var entry in _unrecorded)
                {
                    entry.InSlice = 0;
                }
            }
        }
    }

    /// <summary>A settlement whose write failed, kept to be written again under the same name.</summary>
    /// <param name="operationId">The reservation's id, naming the write.</param>
    /// <param name="cap">The scope's cap when the reservation was made.</param>
    /// <param name="actualUsd">The request's cost.</param>
    /// <param name="setAsideUsd">What the request had set aside.</param>
    private sealed class Unrecorded(string operationId, decimal cap, decimal actualUsd, decimal setAsideUsd)
    {
        public string OperationId { get; } = operationId;

        public decimal Cap { get; } = cap;

        public decimal ActualUsd { get; } = actualUsd;

        public decimal SetAsideUsd { get; } = setAsideUsd;

        /// <summary>The part of the cost this instance's slice still holds (none once the slice is gone).</summary>
        public decimal InSlice { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1801, Level = LogLevel.Warning, Message = "Budget slice of {Scope} not renewed ({Error}); it is not used once close to expiry")]
        public static partial void LeaseNotRenewed(ILogger logger, string scope, string error);

        [LoggerMessage(EventId = 1802, Level = LogLevel.Warning, Message = "Budget slice of {Scope} not given back ({Error}); it comes back when it expires")]
        public static partial void LeaseNotReleased(ILogger logger, string scope, string error);

        [LoggerMessage(EventId = 1803, Level = LogLevel.Warning, Message = "Settlement {OperationId} of {Scope} not recorded ({Error}); it is kept and written again at the next upkeep (at shutdown, given up: event 1804)")]
        public static partial void SettlementNotRecorded(ILogger logger, string scope, string operationId, string error);

        [LoggerMessage(EventId = 1804, Level = LogLevel.Error, Message = "Settlement {OperationId} of {Scope} (${AmountUsd}) given up unrecorded: other instances may lend that money again")]
        public static partial void SettlementDropped(ILogger logger, string scope, string operationId, decimal amountUsd);

        [LoggerMessage(EventId = 1805, Level = LogLevel.Information, Message = "Settlement {OperationId} of {Scope} had been recorded after all (its answer was lost)")]
        public static partial void SettlementFoundRecorded(ILogger logger, string scope, string operationId);

        [LoggerMessage(EventId = 1806, Level = LogLevel.Warning, Message = "Budget upkeep still under way at shutdown; slices are given back regardless")]
        public static partial void UpkeepNotStopped(ILogger logger);
    }
}
