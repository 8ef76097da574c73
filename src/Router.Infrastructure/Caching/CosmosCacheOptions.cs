namespace Router.Infrastructure.Caching;

/// <summary>The Cosmos DB response cache (section <c>Router:Cache:Cosmos</c>); unset endpoint means the in-process cache.</summary>
public sealed class CosmosCacheOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Router:Cache:Cosmos";

    /// <summary>Account endpoint, e.g. <c>https://acct.documents.azure.com:443/</c>.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Account key, for the emulator only; in Azure the managed identity is used and local auth is off.</summary>
    public string? Key { get; set; }

    /// <summary>Database (default <c>router</c>).</summary>
    public string Database { get; set; } = "router";

    /// <summary>Create the database and container when missing (default false: Bicep creates them in Azure, where the
    /// data-plane role cannot).</summary>
    public bool CreateIfMissing { get; set; }
}
