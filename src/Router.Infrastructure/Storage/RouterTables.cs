using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;

namespace Router.Infrastructure.Storage;

/// <summary>The router's tables, created on first use. One <see cref="TableServiceClient"/> is shared by every store.</summary>
internal sealed class RouterTables(TableServiceClient service, IOptions<StorageOptions> options)
{
    private readonly CreatedOnFirstUse<TableClient> _tables = new((name, ct) => CreateAsync(service.GetTableClient(options.Value.TablePrefix + name), ct));

    public Task<TableClient> GetAsync(string name, CancellationToken cancellationToken) => _tables.GetAsync(name, cancellationToken);

    private static async Task<TableClient> CreateAsync(TableClient client, CancellationToken cancellationToken)
    {
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
