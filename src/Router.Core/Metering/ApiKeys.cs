using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Router.Core.Caching;

namespace Router.Core.Metering;

/// <summary>Per-key limits; unset fields fall back to the tenant's.</summary>
/// <param name="RequestsPerMinute">Requests per minute.</param>
/// <param name="TokensPerMinute">Prompt plus expected completion tokens per minute.</param>
/// <param name="DailyBudgetUsd">Spend cap per UTC day.</param>
/// <param name="MonthlyBudgetUsd">Spend cap per UTC month.</param>
public sealed record KeyLimits(int? RequestsPerMinute = null, int? TokensPerMinute = null, decimal? DailyBudgetUsd = null, decimal? MonthlyBudgetUsd = null)
{
    /// <summary>No limits.</summary>
    public static KeyLimits None { get; } = new();
}

/// <summary>A stored API key: only its SHA-256 hash is kept.</summary>
public sealed record ApiKeyRecord
{
    /// <summary>Key id (not secret), shown in listings and usage.</summary>
    public required string Id { get; init; }

    /// <summary>The tenant the key belongs to.</summary>
    public required string TenantId { get; init; }

    /// <summary>Human label.</summary>
    public string Name { get; init; } = "";

    /// <summary>Lower-case hex SHA-256 of the key.</summary>
    public required string Hash { get; init; }

    /// <summary>The first characters of the key, to recognise it in listings (e.g. <c>rk_4Fq9</c>).</summary>
    public string Prefix { get; init; } = "";

    /// <summary>Creation time.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Expiry, if any.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Revocation time, if revoked.</summary>
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>Limits of this key.</summary>
    public KeyLimits Limits { get; init; } = KeyLimits.None;

    /// <summary>The key whose budgets and rate limits this one shares: the first key of a rotation chain, so a rotated
    /// key does not start from a fresh allowance. Null for a key that was not rotated from another.</summary>
    public string? LimitsKeyId { get; init; }
}

/// <summary>Stores API keys by hash, with a per-tenant listing.</summary>
public interface IApiKeyStore
{
    /// <summary>The key with this hash, or null.</summary>
    ValueTask<ApiKeyRecord?> FindByHashAsync(string hash, CancellationToken cancellationToken);

    /// <summary>The key with this id, or null.</summary>
    ValueTask<ApiKeyRecord?> FindByIdAsync(string id, CancellationToken cancellationToken);

    /// <summary>Whether any key exists (the self-hosted server serves an anonymous tenant on loopback only when none does).</summary>
    ValueTask<bool> HasKeysAsync(CancellationToken cancellationToken);

    /// <summary>Stores a new key.</summary>
    ValueTask CreateAsync(ApiKeyRecord key, CancellationToken cancellationToken);

    /// <summary>Marks a key revoked; false when no key has this id.</summary>
    ValueTask<bool> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>The keys of a tenant (all tenants when null).</summary>
    IAsyncEnumerable<ApiKeyRecord> ListAsync(string? tenantId, CancellationToken cancellationToken);
}

/// <summary>An authenticated caller.</summary>
/// <param name="TenantId">The tenant.</param>
/// <param name="KeyId">The key id, or null for the anonymous loopback tenant.</param>
/// <param name="Limits">The key's limits.</param>
/// <param name="LimitsKeyId">The key id its budgets and rate limits are kept under (the first key of its rotation chain).</param>
public sealed record Caller(string TenantId, string? KeyId, KeyLimits? Limits = null, string? LimitsKeyId = null)
{
    /// <summary>The id budgets and rate limits are counted under: <see cref="LimitsKeyId"/>, else <see cref="KeyId"/>.</summary>
    public string? LimitsScope => LimitsKeyId ?? KeyId;
}

/// <summary>The shape of router keys: <c>rk_</c>, 32 random base62 characters and a 6-character checksum, so typos
/// and foreign tokens are refused without a store lookup.</summary>
public static class ApiKeyFormat
{
    /// <summary>Prefix of every router key.</summary>
    public const string Prefix = "rk_";

    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private static readonly System.Buffers.SearchValues<char> AlphabetValues = System.Buffers.SearchValues.Create(Alphabet);
    private const int BodyLength = 32;
    private const int ChecksumLength = 6;

    /// <summary>A new random key.</summary>
    public static string Generate()
    {
        Span<char> body = stackalloc char[BodyLength];
        for (var i = 0; i < body.Length; i++)
        {
            body[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }

        return Prefix + new string(body) + Checksum(body);
    }

    /// <summary>True when <paramref name="key"/> has the router's shape and a matching checksum.</summary>
    public static bool IsWellFormed(string key) =>
        key.Length == Prefix.Length + BodyLength + ChecksumLength
        && key.StartsWith(Prefix, StringComparison.Ordinal)
        && key.AsSpan(Prefix.Length).IndexOfAnyExcept(AlphabetValues) < 0
        && Checksum(key.AsSpan(Prefix.Length, BodyLength)).AsSpan().SequenceEqual(key.AsSpan(Prefix.Length + BodyLength));

    /// <summary>Hex SHA-256 of a key, the only form in which keys are stored.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>A new key id.</summary>
    public static string NewId() => "key_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    private static string Checksum(ReadOnlySpan<char> body)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.ASCII.GetBytes(body.ToArray()), digest);
        Span<char> checksum = stackalloc char[ChecksumLength];
        for (var i = 0; i < ChecksumLength; i++)
        {
            checksum[i] = Alphabet[digest[i] % Alphabet.Length];
        }

        return new string(checksum);
    }
}

/// <summary>Turns a presented key into a <see cref="Caller"/>; unknown, revoked and expired keys are indistinguishable.
/// Lookups are cached briefly (<see cref="CacheDuration"/>), so a revocation takes effect everywhere within that time.</summary>
public sealed class ApiKeyAuthenticator(IApiKeyStore store, TimeProvider time) : IDisposable
{
    private const int MaxCachedKeys = 100_000;

    // Found keys are as many as were issued; unknown ones as many as callers care to invent (a key given in configuration
    // may have any shape, so no checksum turns a guess away). They get a small cache of their own, so a flood of guesses
    // cannot push a valid key out of its cache and make every one of its requests read the store.
    private const int MaxCachedUnknownKeys = 10_000;

    private readonly MemoryCache _found = new(new MemoryCacheOptions { SizeLimit = MaxCachedKeys, Clock = new TimeProviderClock(time) });
    private readonly MemoryCache _unknown = new(new MemoryCacheOptions { SizeLimit = MaxCachedUnknownKeys, Clock = new TimeProviderClock(time) });

    /// <summary>How long a found key is trusted without a store read.</summary>
    public static readonly TimeSpan CacheDuration = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan NegativeCacheDuration = TimeSpan.FromSeconds(5);

    /// <summary>Hex SHA-256 of a key.</summary>
    public static string Hash(string key) => ApiKeyFormat.Hash(key);

    /// <summary>The caller for <paramref name="presentedKey"/>, or null.</summary>
    public async ValueTask<Caller?> AuthenticateAsync(string? presentedKey, CancellationToken cancellationToken)
    {
        // An issued key with a typo fails its checksum here, without a store read. (Keys given in configuration may have
        // any shape.)
        if (string.IsNullOrWhiteSpace(presentedKey) || presentedKey.Length > 512
            || (presentedKey.StartsWith(ApiKeyFormat.Prefix, StringComparison.Ordinal) && !ApiKeyFormat.IsWellFormed(presentedKey)))
        {
            return null;
        }

        var hash = Hash(presentedKey);
        if (!_found.TryGetValue(hash, out ApiKeyRecord? record) && !_unknown.TryGetValue(hash, out _))
        {
            record = await store.FindByHashAsync(hash, cancellationToken);
            if (record is null)
            {
                _unknown.Set(hash, hash, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = NegativeCacheDuration, Size = 1 });
            }
            else
            {
                _found.Set(hash, record, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = CacheDuration, Size = 1 });
            }
        }

        if (record is null
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(record.Hash), Encoding.ASCII.GetBytes(hash))
            || record.RevokedAt is not null
            || record.ExpiresAt is { } expires && expires <= time.GetUtcNow())
        {
            return null;
        }

        return new Caller(record.TenantId, record.Id, record.Limits, record.LimitsKeyId);
    }

    /// <summary>Forgets a cached key on this instance (after a local revocation or creation).</summary>
    public void Forget(string hash)
    {
        _found.Remove(hash);
        _unknown.Remove(hash);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _found.Dispose();
        _unknown.Dispose();
    }
}
