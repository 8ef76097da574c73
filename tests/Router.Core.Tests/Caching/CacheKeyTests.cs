using Router.Core.Caching;

namespace Router.Core.Tests.Caching;

public sealed class CacheKeyTests
{
    [Fact]
    public void Same_scope_and_prompt_give_the_same_key()
    {
        var scope = new CacheScope("tenant-a", "ctx");

        Assert.Equal(CacheKey.Compute(scope, "hello"), CacheKey.Compute(scope, "hello"));
    }

    [Fact]
    public void Tenant_is_part_of_the_key()
    {
        Assert.NotEqual(
            CacheKey.Compute(new CacheScope("tenant-a", "ctx"), "hello"),
            CacheKey.Compute(new CacheScope("tenant-b", "ctx"), "hello"));
    }

    [Fact]
    public void Field_boundaries_cannot_be_shifted()
    {
        Assert.NotEqual(
            CacheKey.Compute(new CacheScope("ab", "c"), "x"),
            CacheKey.Compute(new CacheScope("a", "bc"), "x"));
    }

    [Fact]
    public void Key_prints_as_sha256_hex()
    {
        var hex = CacheKey.Compute(new CacheScope("t", "c"), "p").ToString();

        Assert.Equal(64, hex.Length);
        Assert.All(hex, c => Assert.True(Uri.IsHexDigit(c)));
    }
}
