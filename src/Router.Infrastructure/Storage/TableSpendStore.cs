using Azure;
using Azure.Data.Tables;
using Router.Core.Metering;

namespace Router.Infrastructure.Storage;

/// <summary>Settled spend per budget scope, one row per scope, incremented under optimistic concurrency (ETag). The row
/// also names the last <see cref="RecentOperations"/> additions: when a write commits but its answer is lost (a timeout),
/// the SDK's retry or this store's next attempt finds its own addition there and does not add it again.</summary>
internal sealed class TableSpendStore(RouterTables tables) : ISpendStore
{
    /// <summary>Additions remembered per scope: more writers than this between a lost answer and its retry would be needed
    /// to count one twice.</summary>
    internal const int RecentOperations = 32;

    private const string Table = "spend";
    private const string Row = "total";
    private const string Applied = "Applied";

    public async ValueTask<decimal> GetAsync(string scope, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(Key(scope), Row, cancellationToken: cancellationToken);
        return row.HasValue ? TableValues.Decimal(row.Value!, "SpentUsd") ?? 0 : 0;
    }

    public async ValueTask AddAsync(string scope, decimal amount, string operationId, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        var partition = Key(scope);
        while (true)
        {
            var current = await table.GetEntityIfExistsAsync<TableEntity>(partition, Row, cancellationToken: cancellationToken);
            try
            {
                if (!current.HasValue)
                {
                    await table.AddEntityAsync(new TableEntity(partition, Row) { ["SpentUsd"] = TableValues.Text(amount), [Applied] = operationId }, cancellationToken);
                    return;
                }

                var entity = current.Value!;
                var applied = entity.GetString(Applied) ?? "";
                if (operationId.Length > 0 && applied.Split(' ').Contains(operationId, StringComparer.Ordinal))
                {
                    return;   // an earlier attempt committed
                }

                entity["SpentUsd"] = TableValues.Text((TableValues.Decimal(entity, "SpentUsd") ?? 0) + amount);
                entity[Applied] = string.Join(' ', applied.Split(' ', StringSplitOptions.RemoveEmptyEntries).TakeLast(RecentOperations - 1).Append(operationId));
                await table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken);
                return;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // Another writer got there first, or an earlier attempt of this one did: read again and retry.
            }
        }
    }

    private static string Key(string scope) => scope.Replace('/', '_').Replace('\\', '_').Replace('#', '_').Replace('?', '_');
}
