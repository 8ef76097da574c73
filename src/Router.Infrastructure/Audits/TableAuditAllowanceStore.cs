using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Router.Core.Audits;
using Router.Infrastructure.Storage;

namespace Router.Infrastructure.Audits;

/// <summary>The audits all router instances have leased in each minute, in sixty rows (one per minute of the hour, so the
/// table never grows) changed under optimistic concurrency (ETag). A row that holds an earlier minute is an hour old or
/// more and starts again from nothing.</summary>
/// <remarks>A write that commits but whose answer is lost is taken again by the retry after it: those audits are counted
/// but never spent, which errs toward fewer audits, never more. Every write that succeeds takes at least one audit, so a
/// take reads again at most as often as the minute has audits.</remarks>
internal sealed class TableAuditAllowanceStore(RouterTables tables) : IAuditAllowanceStore
{
    private const string Table = "auditallowance";
    private const string Partition = "minute";
    private const string Minute = "Minute";
    private const string Taken = "Taken";

    public async ValueTask<int> TakeAsync(DateTimeOffset minute, int count, int ceiling, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        var row = minute.UtcDateTime.Minute.ToString("00", CultureInfo.InvariantCulture);
        var stamp = minute.ToUnixTimeSeconds() / 60;
        while (true)
        {
            var current = await table.GetEntityIfExistsAsync<TableEntity>(Partition, row, cancellationToken: cancellationToken);
            var entity = current.HasValue ? current.Value! : null;
            var written = entity?.GetInt64(Minute);

            // A later minute in the row: this instance's clock is an hour or more behind the others', and it leases nothing.
            if (written > stamp)
            {
                return 0;
            }

            var taken = written == stamp ? entity!.GetInt32(Taken) ?? 0 : 0;
            var granted = Math.Min(count, ceiling - taken);
            if (granted <= 0)
            {
                return 0;
            }

            var next = new TableEntity(Partition, row) { [Minute] = stamp, [Taken] = taken + granted };
            try
            {
                if (entity is null)
                {
                    await table.AddEntityAsync(next, cancellationToken);
                }
                else
                {
                    await table.UpdateEntityAsync(next, entity.ETag, TableUpdateMode.Replace, cancellationToken);
                }

                return granted;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // Another instance leased first (412, or 409 for the row it created meanwhile): read again.
            }
        }
    }
}
