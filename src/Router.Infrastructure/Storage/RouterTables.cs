using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;

namespace Router.Infrastructure.Storage;

/// <summary>The router's tables, created on first use. One <see cref="TableServiceClient"/> is shared by every store.</summary>
internal sealed class RouterTables(TableServiceClient service, IOptions<StorageOptions> options)
{
    private readonly Dictionary<string, Task<TableClient>> _tables = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public Task<TableClient> GetAsync(string name, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_tables.TryGetValue(name, out var table) || table.IsFaulted || table.IsCanceled)
            {
                _tables[name] = table = CreateAsync(options.Value.TablePrefix + name, cancellationToken);
            }

            return table;
        }
    }

    private async Task<TableClient> CreateAsync(string name, CancellationToken cancellationToken)
    {
        var client = service.GetTableClient(name);
        try
        {
            await client.CreateIfNotExistsAsync(cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Created concurrently by another instance.
        }

        return client;
    }
}
