using Router.Infrastructure.Caching;

namespace Router.Core.Tests.Caching;

/// <summary>The cache's Cosmos DB client gives up on throttling quickly: with the SDK's defaults (9 retries within 30
/// seconds) a store write under a 429 storm held a chat request for up to half a minute after its answer was written.</summary>
public sealed class CosmosCacheClientTests
{
    [Fact]
    public void The_client_retries_throttled_calls_briefly_and_writes_do_not_echo_the_item()
    {
        var settings = new CosmosCacheOptions { Endpoint = new Uri("https://localhost:8081/"), Key = Convert.ToBase64String(new byte[64]) };

        using var client = CosmosCacheClient.Create(settings, () => throw new InvalidOperationException("a key is set: no credential is needed"));

        Assert.Equal(2, client.ClientOptions.MaxRetryAttemptsOnRateLimitedRequests);
        Assert.Equal(TimeSpan.FromSeconds(2), client.ClientOptions.MaxRetryWaitTimeOnRateLimitedRequests);
        Assert.False(client.ClientOptions.EnableContentResponseOnWrite);
        Assert.Equal(Microsoft.Azure.Cosmos.ConnectionMode.Gateway, client.ClientOptions.ConnectionMode);
    }

    [Fact]
    public void Without_a_key_the_client_uses_the_credential()
    {
        var settings = new CosmosCacheOptions { Endpoint = new Uri("https://acct.documents.azure.com:443/") };
        var asked = 0;

        using var client = CosmosCacheClient.Create(settings, () =>
        {
            asked++;
            return new Azure.Identity.DefaultAzureCredential();
        });

        Assert.Equal(1, asked);
        Assert.Equal(2, client.ClientOptions.MaxRetryAttemptsOnRateLimitedRequests);
    }
}
