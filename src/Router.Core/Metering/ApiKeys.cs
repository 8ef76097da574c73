using System.Security.Cryptography;
using System.Text;

namespace Router.Core.Metering;

/// <summary>A stored API key: only its SHA-256 hash is kept.</summary>
/// <param name="Id">Key id (not secret), shown in listings and usage.</param>
/// <param name="TenantId">The tenant the key belongs to.</param>
/// <param name="Name">Human label.</param>
/// <param name="Hash">Lower-case hex SHA-256 of the key.</param>
/// <param name="ExpiresAt">Expiry, if any.</param>
/// <param name="RevokedAt">Revocation time, if revoked.</param>
public sealed record ApiKeyRecord(string Id, string TenantId, string Name, string Hash, DateTimeOffset? ExpiresAt = null, DateTimeOffset? RevokedAt = null);

/// <summary>Looks keys up by hash.</summary>
public interface IApiKeyStore
{
    /// <summary>The key with this hash, or null.</summary>
    ValueTask<ApiKeyRecord?> FindByHashAsync(string hash, CancellationToken cancellationToken);

    /// <summary>Whether any key exists (the self-hosted server serves an anonymous tenant on loopback only when none does).</summary>
    ValueTask<bool> HasKeysAsync(CancellationToken cancellationToken);
}

/// <summary>An authenticated caller.</summary>
/// <param name="TenantId">The tenant.</param>
/// <param name="KeyId">The key id, or null for the anonymous loopback tenant.</param>
public sealed record Caller(string TenantId, string? KeyId);

/// <summary>Turns a presented key into a <see cref="Caller"/>; unknown, revoked and expired keys are indistinguishable.</summary>
public sealed class ApiKeyAuthenticator(IApiKeyStore store, TimeProvider time)
{
    /// <summary>Hex SHA-256 of a key, the only form in which keys are stored.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>The caller for <paramref name="presentedKey"/>, or null.</summary>
    public async ValueTask<Caller?> AuthenticateAsync(string? presentedKey, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(presentedKey) || presentedKey.Length > 512)
        {
            return null;
        }

        var hash = Hash(presentedKey);
        var record = await store.FindByHashAsync(hash, cancellationToken);
        if (record is null
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(record.Hash), Encoding.ASCII.GetBytes(hash))
            || record.RevokedAt is not null
            || record.ExpiresAt is { } expires && expires <= time.GetUtcNow())
        {
            return null;
        }

        return new Caller(record.TenantId, record.Id);
    }
}
