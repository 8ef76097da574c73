namespace Router.Infrastructure.Storage;

/// <summary>Azure Storage for keys, tenants, usage, spend, audits and weights (section <c>Router:Storage</c>). With
/// neither a connection string nor service URIs, every store is in memory.</summary>
public sealed class StorageOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Router:Storage";

    /// <summary>A connection string (<c>UseDevelopmentStorage=true</c> for Azurite); shared-key access, for local use.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Table service URI for identity-based access, e.g. <c>https://acct.table.core.windows.net</c>.</summary>
    public Uri? TableServiceUri { get; set; }

    /// <summary>Queue service URI for identity-based access.</summary>
    public Uri? QueueServiceUri { get; set; }

    /// <summary>Blob service URI for identity-based access.</summary>
    public Uri? BlobServiceUri { get; set; }

    /// <summary>Prefix of every table name (default <c>router</c>: routerkeys, routerusage, …).</summary>
    public string TablePrefix { get; set; } = "router";

    /// <summary>Longest wait for one storage operation before it is retried (default 10 s).</summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries of a failed storage operation (default 5); writes stay idempotent across retries.</summary>
    public int MaxRetries { get; set; } = 5;

    /// <summary>True when Table Storage is configured.</summary>
    public bool UsesTables => !string.IsNullOrWhiteSpace(ConnectionString) || TableServiceUri is not null;

    /// <summary>True when Queue Storage is configured.</summary>
    public bool UsesQueues => !string.IsNullOrWhiteSpace(ConnectionString) || QueueServiceUri is not null;
}
