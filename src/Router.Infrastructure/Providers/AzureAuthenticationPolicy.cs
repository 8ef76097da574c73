using System.ClientModel.Primitives;
using Azure.Core;

namespace Router.Infrastructure.Providers;

/// <summary>Azure OpenAI takes an api-key header, or an Entra ID bearer token when no key is configured (refreshed before it expires).</summary>
internal sealed class AzureAuthenticationPolicy(string? key, TokenCredential credential, TimeProvider time) : PipelinePolicy
{
    private static readonly TokenRequestContext Scope = new(["https://cognitiveservices.azure.com/.default"]);
    private AccessToken _token;

    public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        if (string.IsNullOrEmpty(key) && Expiring())
        {
            _token = credential.GetToken(Scope, message.CancellationToken);
        }

        Apply(message);
        ProcessNext(message, pipeline, currentIndex);
    }

    public override async ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        if (string.IsNullOrEmpty(key) && Expiring())
        {
            _token = await credential.GetTokenAsync(Scope, message.CancellationToken);
        }

        Apply(message);
        await ProcessNextAsync(message, pipeline, currentIndex);
    }

    private bool Expiring() => _token.Token is null || _token.ExpiresOn - time.GetUtcNow() < TimeSpan.FromMinutes(5);

    private void Apply(PipelineMessage message)
    {
        message.Request.Headers.Remove("Authorization");
        if (!string.IsNullOrEmpty(key))
        {
            message.Request.Headers.Set("api-key", key);
        }
        else
        {
            message.Request.Headers.Set("Authorization", "Bearer " + _token.Token);
        }
    }
}
