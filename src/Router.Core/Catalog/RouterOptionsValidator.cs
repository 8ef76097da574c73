using Microsoft.Extensions.Options;

namespace Router.Core.Catalog;

/// <summary>Checks the catalog's cross-references and reports every problem at once, each naming its setting.</summary>
internal sealed class RouterOptionsValidator : IValidateOptions<RouterOptions>
{
    public ValidateOptionsResult Validate(string? name, RouterOptions options)
    {
        var errors = new List<string>();
        foreach (var (providerName, provider) in options.Providers)
        {
            var prefix = $"{RouterOptions.Section}:Providers:{providerName}";
            if (!string.IsNullOrWhiteSpace(provider.Endpoint)
                && (!Uri.TryCreate(provider.Endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
            {
                errors.Add($"{prefix}:Endpoint: '{provider.Endpoint}' is not an absolute http(s) URL.");
            }

            if (!Enum.IsDefined(provider.Type))
            {
                errors.Add($"{prefix}:Type: must be OpenAI or AzureOpenAI.");
            }
        }

        foreach (var (modelId, model) in options.Models)
        {
            var prefix = $"{RouterOptions.Section}:Models:{modelId}";
            if (string.IsNullOrWhiteSpace(model.Provider))
            {
                errors.Add($"{prefix}:Provider: is required (the name of a provider under {RouterOptions.Section}:Providers).");
            }
            else if (!options.Providers.ContainsKey(model.Provider))
            {
                var known = options.Providers.Count == 0 ? "none are configured" : "configured: " + string.Join(", ", options.Providers.Keys);
                errors.Add($"{prefix}:Provider: provider '{model.Provider}' does not exist under {RouterOptions.Section}:Providers ({known}).");
            }

            if (!Enum.IsDefined(model.Tier))
            {
                errors.Add($"{prefix}:Tier: must be Economy, Standard or Premium.");
            }

            if (model.InputCostPerMillion < 0 || model.OutputCostPerMillion < 0 || model.CachedInputCostPerMillion < 0)
            {
                errors.Add($"{prefix}: prices cannot be negative.");
            }

            if (model.ContextWindow <= 0 || model.MaxOutputTokens <= 0)
            {
                errors.Add($"{prefix}: ContextWindow and MaxOutputTokens must be positive.");
            }

            if (ModelCatalog.Aliases.Contains(modelId, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"{prefix}: '{modelId}' is reserved as a routing alias.");
            }
        }

        if (!string.IsNullOrWhiteSpace(options.BaselineModel) && !options.Models.ContainsKey(options.BaselineModel))
        {
            errors.Add($"{RouterOptions.Section}:BaselineModel: model '{options.BaselineModel}' is not in {RouterOptions.Section}:Models.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
