using Microsoft.Extensions.Options;
using Router.Infrastructure.Caching;
using Router.Infrastructure.Storage;

namespace Router.Infrastructure;

/// <summary>Which stores are in memory and which are in Azure (or its emulators), for the start-up line.</summary>
public sealed class StoreInventory(IOptions<StorageOptions> storage, IOptions<CosmosCacheOptions> cosmos)
{
    private static readonly string[] TableStores = ["keys", "tenants", "usage", "spend", "audits", "audit allowance", "weights"];

    /// <summary>Stores kept in this process's memory.</summary>
    public IReadOnlyList<string> InMemory =>
    [
        .. storage.Value.UsesTables ? [] : TableStores,
        .. storage.Value.UsesQueues ? Array.Empty<string>() : ["audit queue"],
        .. cosmos.Value.Endpoint is null ? ["cache"] : Array.Empty<string>(),
    ];
}
