using Azure;
using Azure.Data.Tables;
using Router.Core.Metering;

namespace Router.Infrastructure.Storage;

/// <summary>Settled spend per budget scope, one row per scope, incremented under optimistic concurrency (ETag).</summary>
internal sealed class TableSpendStore(RouterTables tables) : ISpendStore
{
    private const string Table = "spend";
    private const string Row = "total";

    public async ValueTask<decimal> GetAsync(string scope, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(Key(scope), Row, cancellationToken: cancellationToken);
        return row.HasValue ? TableValues.Decimal(row.Value!, "SpentUsd") ?? 0 : 0;
    }

    public async ValueTask AddAsync(string scope, decimal amount, CancellationToken cancellationToken)
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
                    await table.AddEntityAsync(new TableEntity(partition, Row) { ["SpentUsd"] = TableValues.Text(amount) }, cancellationToken);
                    return;
                }

                var entity = current.Value!;
                entity["SpentUsd"] = TableValues.Text((TableValues.Decimal(entity, "SpentUsd") ?? 0) + amount);
                await table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken);
                return;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // Another writer got there first: read again and retry.
            }
        }
    }

    private static string Key(string scope) => scope.Replace('/', '_').Replace('\\', '_').Replace('#', '_').Replace('?', '_');
}
