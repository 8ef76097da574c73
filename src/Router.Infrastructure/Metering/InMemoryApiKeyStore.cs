using Microsoft.Extensions.Options;
using Router.Core.Metering;

namespace Router.Infrastructure.Metering;

/// <summary>Keys listed in configuration (<c>Router:ApiKeys</c>); the plain keys are hashed at start and not kept.</summary>
internal sealed class InMemoryApiKeyStore : IApiKeyStore
{
    private readonly Dictionary<string, ApiKeyRecord> _byHash = new(StringComparer.Ordinal);

    public InMemoryApiKeyStore(IOptions<ConfiguredApiKeysOptions> options)
    {
        var index = 0;
        foreach (var key in options.Value.ApiKeys)
        {
            if (string.IsNullOrWhiteSpace(key.Key) || string.IsNullOrWhiteSpace(key.Tenant))
            {
                continue;
            }

            var hash = ApiKeyAuthenticator.Hash(key.Key);
            _byHash[hash] = new ApiKeyRecord($"cfg{index++}", key.Tenant, key.Name ?? "configured", hash);
        }
    }

    public ValueTask<ApiKeyRecord?> FindByHashAsync(string hash, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_byHash.GetValueOrDefault(hash));

    public ValueTask<bool> HasKeysAsync(CancellationToken cancellationToken) => ValueTask.FromResult(_byHash.Count > 0);
}

/// <summary>Keys given in configuration (section <c>Router</c>, property <c>ApiKeys</c>).</summary>
public sealed class ConfiguredApiKeysOptions
{
    /// <summary>The configured keys.</summary>
    public List<ConfiguredApiKey> ApiKeys { get; set; } = [];
}

/// <summary>One configured key.</summary>
public sealed class ConfiguredApiKey
{
    /// <summary>The tenant it authenticates.</summary>
    public string? Tenant { get; set; }

    /// <summary>The key itself (hashed at start).</summary>
    public string? Key { get; set; }

    /// <summary>A label.</summary>
    public string? Name { get; set; }
}
