using Microsoft.Extensions.Time.Testing;
using Router.Core.Metering;

namespace Router.Core.Tests.Metering;

public sealed class ApiKeyAuthenticatorTests
{
    // A key given in configuration: any shape, so no checksum refuses a guess before the store is asked.
    private const string ValidKey = "sk-configured-acme-key";

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly CountingKeyStore _store = new(new ApiKeyRecord { Id = "key_acme", TenantId = "acme", Hash = ApiKeyFormat.Hash(ValidKey) });

    [Fact]
    public async Task A_flood_of_unknown_keys_does_not_evict_a_valid_key_from_the_lookup_cache()
    {
        using var authenticator = new ApiKeyAuthenticator(_store, _time);
        Assert.Equal("acme", (await authenticator.AuthenticateAsync(ValidKey, CancellationToken.None))?.TenantId);
        Assert.Equal(1, _store.ReadsOf(ValidKey));

        // More distinct guesses within the valid key's 30 s than the lookup cache holds keys.
        for (var i = 0; i < 120_000; i++)
        {
            Assert.Null(await authenticator.AuthenticateAsync($"sk-guess-{i}", CancellationToken.None));
        }

        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("acme", (await authenticator.AuthenticateAsync(ValidKey, CancellationToken.None))?.TenantId);
        Assert.Equal(1, _store.ReadsOf(ValidKey));
    }

    [Fact]
    public async Task An_unknown_key_repeated_within_five_seconds_is_looked_up_once_and_again_after()
    {
        using var authenticator = new ApiKeyAuthenticator(_store, _time);

        for (var i = 0; i < 10; i++)
        {
            Assert.Null(await authenticator.AuthenticateAsync("sk-wrong", CancellationToken.None));
        }

        Assert.Equal(1, _store.ReadsOf("sk-wrong"));
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.Null(await authenticator.AuthenticateAsync("sk-wrong", CancellationToken.None));
        Assert.Equal(2, _store.ReadsOf("sk-wrong"));
    }

    [Fact]
    public async Task A_revoked_key_stops_working_once_its_cached_lookup_expires_or_is_forgotten()
    {
        using var authenticator = new ApiKeyAuthenticator(_store, _time);
        Assert.NotNull(await authenticator.AuthenticateAsync(ValidKey, CancellationToken.None));

        _store.Revoke(_time.GetUtcNow());
        Assert.NotNull(await authenticator.AuthenticateAsync(ValidKey, CancellationToken.None));
        _time.Advance(ApiKeyAuthenticator.CacheDuration + TimeSpan.FromSeconds(1));
        Assert.Null(await authenticator.AuthenticateAsync(ValidKey, CancellationToken.None));

        _store.Unrevoke();
        authenticator.Forget(ApiKeyFormat.Hash(ValidKey));
        Assert.NotNull(await authenticator.AuthenticateAsync(ValidKey, CancellationToken.None));
        Assert.Equal(3, _store.ReadsOf(ValidKey));
    }

    /// <summary>One key, and how often each hash was looked up.</summary>
    private sealed class CountingKeyStore(ApiKeyRecord key) : IApiKeyStore
    {
        private readonly Dictionary<string, int> _reads = new(StringComparer.Ordinal);
        private ApiKeyRecord _key = key;

        public int ReadsOf(string presentedKey) => _reads.GetValueOrDefault(ApiKeyFormat.Hash(presentedKey));

        public void Revoke(DateTimeOffset at) => _key = _key with { RevokedAt = at };

        public void Unrevoke() => _key = _key with { RevokedAt = null };

        public ValueTask<ApiKeyRecord?> FindByHashAsync(string hash, CancellationToken cancellationToken)
        {
            _reads[hash] = _reads.GetValueOrDefault(hash) + 1;
            return ValueTask.FromResult(hash == _key.Hash ? _key : null);
        }

        public ValueTask<ApiKeyRecord?> FindByIdAsync(string id, CancellationToken cancellationToken) =>
            ValueTask.FromResult(id == _key.Id ? _key : null);

        public ValueTask<bool> HasKeysAsync(CancellationToken cancellationToken) => ValueTask.FromResult(true);

        public ValueTask CreateAsync(ApiKeyRecord key, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<bool> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken) => throw new NotSupportedException();

        public IAsyncEnumerable<ApiKeyRecord> ListAsync(string? tenantId, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
