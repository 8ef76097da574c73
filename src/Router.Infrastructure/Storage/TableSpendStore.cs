using System.Globalization;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Router.Core.Metering;

namespace Router.Infrastructure.Storage;

/// <summary>Settled spend and the budget slices instances hold, one row per scope, changed under optimistic concurrency
/// (ETag). The row also names the last <see cref="RecentOperations"/> named changes: when a write commits but its answer
/// is lost (a timeout), the SDK's retry or this store's next attempt finds its own change there and does not apply it
/// again.</summary>
internal sealed class TableSpendStore(RouterTables tables) : ISpendStore
{
    /// <summary>Changes remembered per scope: more writers than this between a lost answer and its retry would be needed
    /// to count one twice.</summary>
    internal const int RecentOperations = 32;

    private const string Table = "spend";
    private const string Row = "total";
    private const string Applied = "Applied";
    private const string Spent = "SpentUsd";
    private const string Leases = "Leases";
    private const string Version = "Version";

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
        while (true)
        {
            var current = await table.GetEntityIfExistsAsync<TableEntity>(partition, Row, cancellationToken: cancellationToken);
            var entity = current.HasValue ? current.Value! : null;
            var row = entity is null ? SpendRow.Empty : Read(entity);
            var applied = entity?.GetString(Applied) ?? "";
            if (operationId.Length > 0 && applied.Split(' ').Contains(operationId, StringComparer.Ordinal))
            {
                return row;   // an earlier attempt committed
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
            try
            {
                if (entity is null)
                {
                    await table.AddEntityAsync(written, cancellationToken);
                }
                else
                {
                    await table.UpdateEntityAsync(written, entity.ETag, TableUpdateMode.Replace, cancellationToken);
                }

                return next;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // Another writer got there first, or an earlier attempt of this one did: read again and retry.
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

    private static string Key(string scope) => scope.Replace('/', '_').Replace('\\', '_').Replace('#', '_').Replace('?', '_');
}
