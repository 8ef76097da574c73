using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Router.Core.Metering;

namespace Router.Infrastructure.Storage;

/// <summary>Settled spend and the budget slices instances hold, one row per scope, changed under optimistic concurrency
/// (ETag). A named change (a settlement) is written in one entity group transaction with a marker entity named after it
/// in the scope's partition: when the write commits but its answer is lost (a timeout), the SDK's retry, this store's next
/// attempt or the caller's later retry fails on the marker that is already there, finds it, and does not apply the change
/// again, however many other changes came in between. A marker is deleted only once this process has seen its change
/// commit, by its next write to the same scope (a settlement, a renewal or a slice given back, which an idle or stopping
/// instance does). Markers a few bytes each, never read again, can be left behind: by a change whose answer never came
/// and that was not retried (a crash), and by a process that stopped without writing to that scope again. The row also
/// keeps the last <see cref="RecentOperations"/> names, as earlier versions of this store did and still read during a
/// rolling deployment.</summary>
internal sealed class TableSpendStore(RouterTables tables) : ISpendStore
{
    /// <summary>Names of changes kept in the row itself (what earlier versions relied on alone).</summary>
    internal const int RecentOperations = 32;

    /// <summary>Markers of confirmed changes deleted per write (an entity group transaction holds at most 100 entities).</summary>
    internal const int MaxDeletesPerWrite = 32;

    /// <summary>Markers of confirmed changes waiting for the next write to their scope, per scope; past this the oldest are
    /// left in place (harmless, a few bytes each).</summary>
    internal const int MaxConfirmedPerScope = 4096;

    private const int MaxScopesTracked = 1024;
    private const string Table = "spend";
    private const string Row = "total";
    private const string MarkerPrefix = "op-";
    private const string Applied = "Applied";
    private const string Spent = "SpentUsd";
    private const string Leases = "Leases";
    private const string Version = "Version";
    private static readonly TimeSpan ScopeIdle = TimeSpan.FromHours(1);

    // Per scope, the markers of changes this process has seen commit: deleted by its next named write there.
    private readonly ConcurrentDictionary<string, Confirmed> _confirmed = new(StringComparer.Ordinal);

    public async ValueTask<SpendRow> GetAsync(string scope, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(Key(scope), Row, cancellationToken: cancellationToken);
        return row.HasValue ? Read(row.Value!) : SpendRow.Empty;
    }

    public async ValueTask<SpendRow> UpdateAsync(string scope, string operationId, Func<SpendRow, SpendRow?> change, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        var partition = Key(scope);
        var marker = operationId.Length == 0 ? "" : MarkerPrefix + Key(operationId);
        var suspect = false;   // a write of this change may be in the table already: look for its marker before writing again
        while (true)
        {
            var current = await table.GetEntityIfExistsAsync<TableEntity>(partition, Row, cancellationToken: cancellationToken);
            var entity = current.HasValue ? current.Value! : null;
            var row = entity is null ? SpendRow.Empty : Read(entity);
            var applied = entity?.GetString(Applied) ?? "";
            if (operationId.Length > 0 && applied.Split(' ').Contains(operationId, StringComparer.Ordinal))
            {
                Confirm(partition, marker);   // its marker, if this version wrote one, can go (one already gone costs a retry)
                return row;   // an earlier attempt committed (named in the row by this or an earlier version)
            }

            if (suspect && (await table.GetEntityIfExistsAsync<TableEntity>(partition, marker, select: ["RowKey"], cancellationToken: cancellationToken)).HasValue)
            {
                Confirm(partition, marker);
                return row;   // an earlier attempt committed: its marker is there
            }

            if (change(row) is not { } next)
            {
                return row;
            }

            next = next with { Version = row.Version + 1 };
            var written = new TableEntity(partition, Row)
            {
                [Spent] = TableValues.Text(next.SpentUsd),
                [Leases] = Write(next.Leases),
                [Version] = next.Version,
                [Applied] = operationId.Length == 0
                    ? applied
                    : string.Join(' ', applied.Split(' ', StringSplitOptions.RemoveEmptyEntries).TakeLast(RecentOperations - 1).Append(operationId)),
            };
            // The marker first, so a change already in the table fails on it; then the row; then markers of changes this
            // process has seen commit, which no retry will ask about any more (unnamed writes, renewals and give-backs,
            // carry those too, so a scope's last markers go when its slice is given back).
            var deletes = TakeConfirmed(partition, marker);
            var total = entity is null
                ? new TableTransactionAction(TableTransactionActionType.Add, written)
                : new TableTransactionAction(TableTransactionActionType.UpdateReplace, written, entity.ETag);
            List<TableTransactionAction> actions = marker.Length == 0 ? [total] : [new(TableTransactionActionType.Add, new TableEntity(partition, marker)), total];
            foreach (var confirmed in deletes)
            {
                actions.Add(new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, confirmed), ETag.All));
            }

            try
            {
                await table.SubmitTransactionAsync(actions, cancellationToken);
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 404 && deletes.Count > 0 && (ex.FailedTransactionActionIndex is not { } index || index >= actions.Count - deletes.Count))
            {
                // A marker is gone already (deleted by a write whose answer was lost, which likely deleted the others
                // with it): this write's are dropped rather than tried one failure at a time. Any still there stay.
                continue;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // Another writer changed the row (412, or 409 for a row created meanwhile), or this change is in the table
                // already (409 on its marker): read again, and look for the marker after a 409.
                ReturnConfirmed(partition, deletes);
                suspect |= ex.Status == 409 && marker.Length > 0;
                continue;
            }
            catch
            {
                // The write may or may not have committed: those markers are deleted by a later write (or found gone).
                ReturnConfirmed(partition, deletes);
                throw;
            }

            if (marker.Length > 0)
            {
                Confirm(partition, marker);
            }

            return next;
        }
    }

    // Up to MaxDeletesPerWrite markers of the scope's confirmed changes, taken so no concurrent write deletes them too.
    private List<string> TakeConfirmed(string partition, string except)
    {
        var taken = new List<string>();
        if (_confirmed.TryGetValue(partition, out var confirmed))
        {
            lock (confirmed)
            {
                while (taken.Count < MaxDeletesPerWrite && confirmed.Markers.TryDequeue(out var marker))
                {
                    // Confirmed twice (a change written again after its answer came) is deleted once.
                    if (marker != except && !taken.Contains(marker))
                    {
                        taken.Add(marker);
                    }
                }
            }
        }

        return taken;
    }

    private void ReturnConfirmed(string partition, List<string> markers)
    {
        foreach (var marker in markers)
        {
            Confirm(partition, marker);
        }
    }

    // The change named by this marker is in the table, and this process will not ask about it again.
    private void Confirm(string partition, string marker)
    {
        var now = Environment.TickCount64;
        if (!_confirmed.TryGetValue(partition, out var confirmed))
        {
            if (_confirmed.Count >= MaxScopesTracked)
            {
                // Scopes of past days and months are written no more: their last markers stay (a few bytes each).
                foreach (var (key, idle) in _confirmed)
                {
                    if (now - Volatile.Read(ref idle.LastUsed) > ScopeIdle.TotalMilliseconds)
                    {
                        _confirmed.TryRemove(KeyValuePair.Create(key, idle));
                    }
                }
            }

            confirmed = _confirmed.GetOrAdd(partition, static _ => new Confirmed());
        }

        lock (confirmed)
        {
            Volatile.Write(ref confirmed.LastUsed, now);
            confirmed.Markers.Enqueue(marker);
            if (confirmed.Markers.Count > MaxConfirmedPerScope)
            {
                confirmed.Markers.Dequeue();
            }
        }
    }

    private static SpendRow Read(TableEntity entity) => new(
        TableValues.Decimal(entity, Spent) ?? 0,
        ReadLeases(entity.GetString(Leases)),
        entity.GetInt64(Version) ?? 0);

    // Slices as "holder amount expiry-in-unix-ms" triples, separated by ';'.
    private static List<BudgetLease> ReadLeases(string? text)
    {
        var leases = new List<BudgetLease>();
        foreach (var item in (text ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = item.Split(' ');
            if (parts.Length == 3
                && decimal.TryParse(parts[1], NumberStyles.Number, CultureInfo.InvariantCulture, out var amount)
                && long.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var expires))
            {
                leases.Add(new BudgetLease(parts[0], amount, DateTimeOffset.FromUnixTimeMilliseconds(expires)));
            }
        }

        return leases;
    }

    private static string Write(IReadOnlyList<BudgetLease> leases)
    {
        var text = new StringBuilder();
        foreach (var lease in leases)
        {
            text.Append(CultureInfo.InvariantCulture, $"{lease.Holder} {TableValues.Text(lease.AmountUsd)} {lease.ExpiresAt.ToUnixTimeMilliseconds()};");
        }

        return text.ToString();
    }

    /// <summary>The partition key of <paramref name="scope"/> (and a marker's name from an operation id).</summary>
    internal static string Key(string scope) => scope.Replace('/', '_').Replace('\\', '_').Replace('#', '_').Replace('?', '_');

    private sealed class Confirmed
    {
        public readonly Queue<string> Markers = new();
        public long LastUsed;
    }
}
