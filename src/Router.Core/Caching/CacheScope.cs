namespace Router.Core.Caching;

/// <summary>Who may see a cache entry: one tenant and one request context (model, system prompt, tools, parameters).</summary>
/// <param name="Tenant">Tenant id; entries of one tenant are never visible to another.</param>
/// <param name="ContextFingerprint">Hash of everything besides the prompt that shapes the answer.</param>
public readonly record struct CacheScope(string Tenant, string ContextFingerprint);
