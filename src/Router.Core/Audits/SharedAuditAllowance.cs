using Microsoft.Extensions.Logging;

namespace Router.Core.Audits;

/// <summary>This instance's part of the audits all router instances together may queue in a minute
/// (<see cref="AuditOptions.MaxPerMinute"/>): leased from the <see cref="IAuditAllowanceStore"/> a few at a time, as many as
/// this instance is likely to spend, and spent here, so an audit neither costs a storage round-trip nor waits for one.</summary>
/// <remarks>
/// A lease is taken off the request path: as a minute starts after one this instance asked for audits in, when an audit
/// finds nothing left, and, on a busy instance, when what is left runs low. An audit that finds nothing left is refused
/// rather than kept waiting, but for the minute's first audit on an instance that has had no lease answered in it yet
/// (one whose traffic is too light to have asked in the minute before, or whose lease is still out): that one is admitted
/// on credit and paid for by the next lease answered in the minute. Otherwise an instance that audits less than about
/// once a minute would have most of its audits refused, each for a lease that then died unspent. Where the store has
/// none left by the time the lease is answered, the fleet is over the cap by that audit: by at most one audit per
/// instance a minute. A lease counts against the minute it was taken in and dies with it; what it had left is not
/// spent, so leases are sized by demand: scaled out, lightly used instances would otherwise tie up the minute's cap in
/// leases they never spend while the instance that carries the traffic gets none. A minute's first lease is what this
/// instance asked for in the minute before (audits admitted or refused), each later one twice the one before; every
/// lease is at least one audit and at most a fifth of the cap. Only a busy instance, one that asked for more than a fifth
/// in this minute or the one before, leases again before it runs out (a quarter of a fifth or less left): on any other
/// the lease is what it is expected to spend, and the audit past it is refused and leases more.
/// Sampled, risk and semantic-hit audits lease from the first four fifths of each minute's cap only; probes and
/// rule-forced audits may lease the last fifth too, one audit at a time, so one instance cannot hold all of it. While the
/// store cannot be reached every audit passes here, so the instance's own allowance (<see cref="AuditAllowance"/>, which
/// always applies) is the bound, and the store is asked again every <see cref="RetryAfterFailure"/>.
/// </remarks>
internal sealed partial class SharedAuditAllowance : IDisposable
{
    /// <summary>How long after a failed lease the store is asked again.</summary>
    internal static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(10);

    private readonly IAuditAllowanceStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly ITimer _nextMinute;
    private readonly CancellationTokenSource _stopping = new();
    private Task _leasing = Task.CompletedTask;
    private bool _leaseOut;           // a lease is being taken: cleared under the lock by the lease itself, so it can take the next
    private DateTimeOffset _minute;   // the minute the audits below were leased in
    private int _perMinute;
    private int _general;             // leased audits left that any audit may spend
    private int _reserved;            // leased audits left from the last fifth: probes and rule-forced audits only
    private bool _generalSpent;       // the minute's first four fifths are all leased: asking again would cost a round-trip for nothing
    private bool _reserveSpent;       // and so is its last fifth
    private bool _leasesNext;         // an audit was asked for here this minute: the next minute's lease is taken as it starts
    private int _asked;               // audits asked for here this minute, admitted or refused: the demand leases are sized by
    private int _askedBefore;         // and in the minute before
    private int _leaseSize;           // what the last lease of this minute's first four fifths asked for (0: none yet)
    private bool _credited;           // this minute's audit on credit has been admitted
    private int _owed;                // and is still to be paid for by a lease of this minute
    private bool _unreachable;        // the last lease failed: audits pass here until one succeeds
    private long _failedAt;

    public SharedAuditAllowance(IAuditAllowanceStore store, TimeProvider time, ILogger logger)
    {
        _store = store;
        _time = time;
        _logger = logger;
        _nextMinute = time.CreateTimer(_ => StartNextMinute(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The lease being taken (completed when none is): tests wait for it.</summary>
    internal Task Leasing
    {
        get
        {
            lock (_gate)
            {
                return _leasing;
            }
        }
    }

    /// <summary>Spends one leased audit of a cap of <paramref name="perMinute"/>, or the minute's audit on credit; false when
    /// this instance holds none it may spend and its credit is used (a lease is then asked for, for the audits after this
    /// one). <paramref name="priority"/>: a probe or a rule-forced audit, which may spend the last fifth. True whatever is held while the store cannot be reached.</summary>
    public bool TryTake(int perMinute, bool priority)
    {
        lock (_gate)
        {
            _perMinute = perMinute;
            var now = _time.GetUtcNow();
            StartMinute(now);
            _asked++;
            if (_unreachable)
            {
                Lease(priority);
                return true;
            }

            var taken = true;
            if (priority && _reserved > 0)
            {
                _reserved--;
            }
            else if (_general > 0)
            {
                _general--;
            }
            else if (!_credited && _leaseSize == 0 && !_generalSpent)
            {
                // Nothing answered yet this minute, nor known to be spent: admitted on credit, paid by the lease being
                // (or about to be) taken.
                _credited = true;
                _owed = 1;
            }
            else
            {
                taken = false;
            }

            if (!_leasesNext)
            {
                _leasesNext = true;
                _nextMinute.Change(_minute.AddMinutes(1) - now, Timeout.InfiniteTimeSpan);
            }

            // A busy instance leases again before it runs out, so the audits right after this one find some left; any
            // other leases only once an audit finds nothing left, or what it leased ahead would likely die unspent.
            var fifth = Fifth(perMinute);
            if (!taken || _owed > 0 || (Math.Max(_asked, _askedBefore) > fifth && _general + (priority ? _reserved : 0) <= fifth / 4))
            {
                Lease(priority);
            }

            return taken;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _nextMinute.Dispose();
            _stopping.Cancel();
        }
    }

    private static int Fifth(int perMinute) => Math.Max(1, perMinute / 5);

    private static DateTimeOffset MinuteOf(DateTimeOffset time) =>
        new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);

    // A minute that has started drops what was leased in the one before: those audits counted there. What was asked for
    // there sizes this minute's first lease (a timer woken late, the clock having jumped, still sizes it by the minute it
    // was set in).
    private void StartMinute(DateTimeOffset now)
    {
        var minute = MinuteOf(now);
        if (minute != _minute)
        {
            _minute = minute;
            _askedBefore = _asked;
            _asked = _leaseSize = _general = _reserved = _owed = 0;
            _generalSpent = _reserveSpent = _leasesNext = _credited = false;
        }
    }

    // An instance that asked for audits in the last minute will likely ask in this one: it leases as the minute starts
    // instead of refusing the minute's first audit while it does.
    private void StartNextMinute()
    {
        lock (_gate)
        {
            if (_stopping.IsCancellationRequested)
            {
                return;
            }

            // Timers and the wall clock drift apart (a coarse timer tick, a slewed clock): woken before the clock shows the
            // next minute, a lease now would take audits of the minute ending, to be dropped in a moment, and none of the
            // next. It waits for what is left of the minute instead (a millisecond at least, so it never spins). A minute
            // an audit has already started here was leased then, and is left to the audits that spend from it.
            var now = _time.GetUtcNow();
            if (MinuteOf(now) == _minute)
            {
                if (_leasesNext)
                {
                    var left = _minute.AddMinutes(1) - now;
                    _nextMinute.Change(left < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : left, Timeout.InfiniteTimeSpan);
                }

                return;
            }

            StartMinute(now);
            Lease(priority: false);
        }
    }

    // Starts taking a lease unless one is being taken, or the store has none left that this audit may spend, or it failed
    // a moment ago. Runs on the thread pool: the request that asks never waits for the store.
    private void Lease(bool priority)
    {
        if (_leaseOut || _stopping.IsCancellationRequested
            || (_unreachable && _time.GetElapsedTime(_failedAt) < RetryAfterFailure))
        {
            return;
        }

        var fromReserve = _generalSpent;
        if (fromReserve && (!priority || _reserveSpent || _perMinute / 5 == 0))
        {
            return;
        }

        // The minute's first lease is what this instance asked for in the one before, each later one twice the last: a
        // lightly used instance leases about what it spends, a busy one a fifth after a few leases.
        var fifth = Fifth(_perMinute);
        var size = fromReserve ? 1 : _leaseSize == 0 ? Math.Clamp(_askedBefore, 1, fifth) : Math.Min(2 * _leaseSize, fifth);
        var (minute, perMinute) = (_minute, _perMinute);
        _leaseOut = true;
        _leasing = Task.Run(() => LeaseAsync(minute, perMinute, size, fromReserve));
    }

    private async Task LeaseAsync(DateTimeOffset minute, int perMinute, int size, bool fromReserve)
    {
        int granted;
        try
        {
            granted = fromReserve
                ? await _store.TakeAsync(minute, 1, perMinute, _stopping.Token)
                : await _store.TakeAsync(minute, size, perMinute - (perMinute / 5), _stopping.Token);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            lock (_gate)
            {
                _leaseOut = false;
            }

            return;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            bool first;
            lock (_gate)
            {
                _leaseOut = false;
                first = !_unreachable;
                _unreachable = true;
                _failedAt = _time.GetTimestamp();
            }

            if (first)
            {
                Log.AllowanceUnreachable(_logger, ex.GetType().Name, perMinute);
            }

            return;
        }

        bool recovered;
        lock (_gate)
        {
            _leaseOut = false;
            recovered = _unreachable;
            _unreachable = false;

            // A lease answered after its minute ended is dropped: it counted there. A minute this instance has moved on to
            // asked for its own lease (every minute that starts here does) while this one was out, so it is taken now, or
            // the new minute's first audits would be refused for want of it.
            if (minute != _minute)
            {
                Lease(priority: false);
            }
            else
            {
                if (fromReserve)
                {
                    _reserved += granted;
                    _reserveSpent |= granted == 0;
                }
                else
                {
                    // The minute's first answered lease pays for its audit on credit; if it finds none left, that audit is the
                    // overshoot and nothing is owed any more (so no lease is asked for on its account).
                    _general += Math.Max(0, granted - _owed);
                    _owed = 0;
                    _generalSpent |= granted < size;
                    _leaseSize = size;
                }
            }
        }

        if (recovered)
        {
            Log.AllowanceReachable(_logger);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1307, Level = LogLevel.Warning, Message = "The audit allowance shared by router instances could not be leased ({Error}): until it can, this instance alone bounds its audits, at Router:Audits:MaxPerMinute ({Limit}) a minute")]
        public static partial void AllowanceUnreachable(ILogger logger, string error, int limit);

        [LoggerMessage(EventId = 1308, Level = LogLevel.Information, Message = "The audit allowance shared by router instances is leased again: it bounds this instance's audits once more")]
        public static partial void AllowanceReachable(ILogger logger);
    }
}
