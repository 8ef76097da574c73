namespace Router.Infrastructure.Embeddings;

/// <summary>Which embedding model the router uses (section <c>Router:Embeddings</c>).</summary>
public sealed class EmbeddingOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Router:Embeddings";

    /// <summary><c>Local</c> (all-MiniLM-L6-v2 in process, the default), <c>AzureOpenAI</c> or <c>None</c> (no
    /// embeddings: keyword-only analysis and exact-only caching).</summary>
    public string Provider { get; set; } = "Local";

    /// <summary>Azure OpenAI resource URL, for <c>AzureOpenAI</c> (default: <c>Router:Providers:azure:Endpoint</c>).</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Azure OpenAI embedding deployment (default <c>text-embedding-3-small</c>).</summary>
    public string Deployment { get; set; } = "text-embedding-3-small";

    /// <summary>Azure OpenAI api-key; empty uses Entra ID (the managed identity).</summary>
    public string? ApiKey { get; set; }
}
