using Azure.Core;
using Router.Core.Catalog;

namespace Router.Infrastructure.Providers;

/// <summary>Adds a provider's credentials to an outgoing request.</summary>
internal interface IProviderCredentials
{
    /// <summary>Sets the authorization header(s) for <paramref name="provider"/>.</summary>
    ValueTask ApplyAsync(ProviderDescriptor provider, HttpRequestMessage request, CancellationToken cancellationToken);
}

/// <summary>API keys (<c>Authorization: Bearer</c> for OpenAI-compatible providers, <c>api-key</c> for Azure OpenAI),
/// and Entra ID tokens for Azure OpenAI providers configured without a key (managed identity in Azure).</summary>
internal sealed class ProviderCredentials(TokenCredential tokenCredential, TimeProvider time) : IProviderCredentials, IDisposable
{
    private static readonly TokenRequestContext CognitiveServices = new(["https://cognitiveservices.azure.com/.default"]);
    private static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private AccessToken _token;

    public async ValueTask ApplyAsync(ProviderDescriptor provider, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(provider.ApiKey))
        {
            if (provider.Type == ProviderType.AzureOpenAI)
            {
                request.Headers.TryAddWithoutValidation("api-key", provider.ApiKey);
            }
            else
            {
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + provider.ApiKey);
            }

            return;
        }

        if (provider.Type == ProviderType.AzureOpenAI)
        {
            var token = await GetTokenAsync(cancellationToken);
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        }
    }

    // One token for every Azure OpenAI provider, refreshed by a single caller shortly before it expires.
    private async ValueTask<string> GetTokenAsync(CancellationToken cancellationToken)
    {
        var current = _token;
        if (current.Token is not null && current.ExpiresOn - time.GetUtcNow() > RefreshMargin)
        {
            return current.Token;
        }

        await _refresh.WaitAsync(cancellationToken);
        try
        {
            if (_token.Token is null || _token.ExpiresOn - time.GetUtcNow() <= RefreshMargin)
            {
                _token = await tokenCredential.GetTokenAsync(CognitiveServices, cancellationToken);
            }

            return _token.Token;
        }
        finally
        {
            _refresh.Release();
        }
    }

    public void Dispose() => _refresh.Dispose();
}
