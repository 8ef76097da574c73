using Microsoft.Extensions.Options;
using Router.Infrastructure.Storage;

namespace Router.Infrastructure;

/// <summary>Which stores are in memory and which are in Azure Storage, for the start-up line.</summary>
public sealed class StoreInventory(IOptions<StorageOptions> storage)
{
    private static readonly string[] TableStores = ["keys", "tenants", "usage", "spend"];

    /// <summary>Stores kept in this process's memory.</summary>
    public IReadOnlyList<string> InMemory => storage.Value.UsesTables ? [] : TableStores;

    /// <summary>Stores in Azure Storage (or Azurite).</summary>
    public IReadOnlyList<string> InStorage => storage.Value.UsesTables ? TableStores : [];
}
