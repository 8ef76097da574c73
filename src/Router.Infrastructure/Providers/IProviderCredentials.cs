using Router.Core.Catalog;

namespace Router.Infrastructure.Providers;

/// <summary>Adds a provider's credentials to an outgoing request.</summary>
internal interface IProviderCredentials
{
    /// <summary>Sets the authorization header(s) for <paramref name="provider"/>.</summary>
    ValueTask ApplyAsync(ProviderDescriptor provider, HttpRequestMessage request, CancellationToken cancellationToken);
}

/// <summary>API keys: <c>Authorization: Bearer</c> for OpenAI-compatible providers, <c>api-key</c> for Azure OpenAI.</summary>
internal sealed class ApiKeyProviderCredentials : IProviderCredentials
{
    public ValueTask ApplyAsync(ProviderDescriptor provider, HttpRequestMessage request, CancellationToken cancellationToken)
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
        }

        return ValueTask.CompletedTask;
    }
}
