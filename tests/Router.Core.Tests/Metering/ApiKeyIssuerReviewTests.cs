using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Catalog;
using Router.Core.Metering;
using Router.Core.Tests.Catalog;
using Router.Infrastructure.Metering;

namespace Router.Core.Tests.Metering;

/// <summary>From the review of keys issued for tenants that are not registered: the tenant id pattern now checked on
/// every issue, rotations included.</summary>
public sealed class ApiKeyIssuerReviewTests
{
    // Configuration does not hold tenant ids to the admin API's pattern: any key of Router:Tenants is a tenant.
    private const string ConfiguredTenant = "acme corp";

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task A_key_of_a_tenant_registered_in_configuration_is_still_rotated_whatever_its_id_looks_like()
    {
        var tenants = new InMemoryTenantPolicyStore(
            Options.Create(new TenantsOptions { Tenants = { [ConfiguredTenant] = new TenantOptions { DailyBudgetUsd = 5m } } }),
            new ModelCatalog(ModelCatalogTests.Options()));
        Assert.True((await tenants.GetAsync(ConfiguredTenant, CancellationToken.None)).Registered);

        // A key issued for it before the pattern was checked on issue (it was issued then: the tenant is registered).
        var keys = new InMemoryApiKeyStore();
        await keys.CreateAsync(new ApiKeyRecord
        {
            Id = "key_0123456789abcdef",
            TenantId = ConfiguredTenant,
            Name = "ci",
            Hash = ApiKeyFormat.Hash("sk-issued-before"),
            Prefix = "sk-issu",
            CreatedAt = _time.GetUtcNow(),
        }, CancellationToken.None);
        using var authenticator = new ApiKeyAuthenticator(keys, _time);
        var issuer = new ApiKeyIssuer(keys, tenants, authenticator, _time);

        var (rotated, key, error) = await issuer.RotateAsync("key_0123456789abcdef", CancellationToken.None);

        Assert.True(error is null, $"rotating a key of a registered tenant was refused: {error?.Message}");
        Assert.Equal(ConfiguredTenant, rotated!.TenantId);
        Assert.NotNull(key);
    }

    [Fact]
    public async Task A_key_is_issued_for_a_tenant_registered_in_configuration_whatever_its_id_looks_like()
    {
        var tenants = new InMemoryTenantPolicyStore(
            Options.Create(new TenantsOptions { Tenants = { [ConfiguredTenant] = new TenantOptions() } }),
            new ModelCatalog(ModelCatalogTests.Options()));
        var keys = new InMemoryApiKeyStore();
        using var authenticator = new ApiKeyAuthenticator(keys, _time);
        var issuer = new ApiKeyIssuer(keys, tenants, authenticator, _time);

        var (record, _, error) = await issuer.IssueAsync(ConfiguredTenant, "ci", null, new KeyLimits(), CancellationToken.None);

        Assert.True(error is null, $"a key for a tenant registered in configuration was refused: {error?.Message}");
        Assert.Equal(ConfiguredTenant, record!.TenantId);
    }
}
