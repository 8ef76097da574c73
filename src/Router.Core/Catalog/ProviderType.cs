namespace Router.Core.Catalog;

/// <summary>Wire protocol spoken by a provider.</summary>
public enum ProviderType
{
    /// <summary>Any OpenAI-compatible server (OpenAI, Groq, Ollama, vLLM, the simulator).</summary>
    OpenAI = 0,

    /// <summary>Azure OpenAI: deployment URLs, api-version, api-key or Entra ID.</summary>
    AzureOpenAI = 1,
}
