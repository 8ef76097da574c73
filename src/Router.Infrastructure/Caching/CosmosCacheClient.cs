using Azure.Core;
using Microsoft.Azure.Cosmos;

namespace Router.Infrastructure.Caching;

/// <summary>The Cosmos DB client of the response cache. The cache is in front of every chat request and a miss only costs
/// a provider call, so the client gives up quickly where the SDK's defaults would wait: a throttled (429) call is retried
/// twice within 2 seconds instead of 9 times within 30, and writes do not send the item (and its vector) back.</summary>
internal static class CosmosCacheClient
{
    /// <summary>Retries on 429 before the call fails (the SDK's default is 9).</summary>
    public const int MaxRateLimitedRetries = 2;

    /// <summary>Total wait on 429 retries before the call fails (the SDK's default is 30 seconds).</summary>
    public static readonly TimeSpan MaxRateLimitedWait = TimeSpan.FromSeconds(2);

    /// <summary>The client's options.</summary>
    public static CosmosClientOptions Options() => new()
    {
        ApplicationName = "llm-router",
        ConnectionMode = ConnectionMode.Gateway,
        MaxRetryAttemptsOnRateLimitedRequests = MaxRateLimitedRetries,
        MaxRetryWaitTimeOnRateLimitedRequests = MaxRateLimitedWait,
        EnableContentResponseOnWrite = false,
    };

    /// <summary>A client for <paramref name="settings"/>: the account key when one is set (the emulator), else Entra ID.</summary>
    public static CosmosClient Create(CosmosCacheOptions settings, Func<TokenCredential> credential) =>
        string.IsNullOrEmpty(settings.Key)
            ? new CosmosClient(settings.Endpoint!.AbsoluteUri, credential(), Options())
            : new CosmosClient(settings.Endpoint!.AbsoluteUri, settings.Key, Options());
}
