using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using Azure.Core;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OpenAI;
using Router.Core.Catalog;
using Router.Core.Execution;

namespace Router.Infrastructure.Providers;

/// <summary>OpenAI SDK chat clients, as <see cref="IChatClient"/>, for the router's own calls (audit references and the
/// judge). Azure OpenAI providers are reached on their OpenAI-compatible <c>/openai/v1</c> surface with an api-key or
/// an Entra ID token. SDK retries are off: audits are retried by their queue.</summary>
internal sealed class SdkChatClientProvider(TokenCredential credential, IOptions<ExecutionOptions> execution, TimeProvider time) : IChatClientProvider
{
    private readonly ConcurrentDictionary<string, IChatClient> _clients = new(StringComparer.OrdinalIgnoreCase);

    public IChatClient For(CatalogModel model) => _clients.GetOrAdd(model.Id, _ => Create(model));

    private IChatClient Create(CatalogModel model)
    {
        var provider = model.Provider;
        var options = new OpenAIClientOptions
        {
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = execution.Value.AttemptTimeout,
        };
        OpenAI.Chat.ChatClient client;
        if (provider.Type == ProviderType.AzureOpenAI)
        {
            options.Endpoint = new Uri(provider.Endpoint.AbsoluteUri.TrimEnd('/') + "/openai/v1/");
            options.AddPolicy(new AzureAuthenticationPolicy(provider.ApiKey, credential, time), PipelinePosition.PerCall);
            client = new OpenAI.Chat.ChatClient(model.UpstreamModel, new ApiKeyCredential("replaced-by-policy"), options);
        }
        else
        {
            options.Endpoint = provider.Endpoint;
            client = new OpenAI.Chat.ChatClient(model.UpstreamModel, new ApiKeyCredential(string.IsNullOrEmpty(provider.ApiKey) ? "no-key" : provider.ApiKey), options);
        }

        return client.AsIChatClient();
    }
}
