using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Http.Auth;
using Router.Http.Errors;

namespace Router.Http.Catalog;

/// <summary><c>GET /v1/models</c> and <c>GET /v1/models/{id}</c>: the catalog and the routing aliases in OpenAI's format.</summary>
public sealed class ModelsHandler(CallerAuthentication authentication, ModelCatalog catalog, TimeProvider time)
{
    /// <summary>Handles the request and writes the response.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        RouterHttpContext.Begin(context, time);
        if (await authentication.AuthenticateAsync(context) is null)
        {
            await ErrorResponse.WriteAsync(context, RouterError.InvalidApiKey());
            return;
        }

        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new ModelList("list", Entries().ToArray()), RouterHttpJsonContext.Default.ModelList, context.RequestAborted);
    }

    /// <summary><c>GET /v1/models/{id}</c>: one model or alias as OpenAI's retrieve returns it, or a 404 naming the choices.</summary>
    public async Task RetrieveAsync(HttpContext context, string id)
    {
        RouterHttpContext.Begin(context, time);
        if (await authentication.AuthenticateAsync(context) is null)
        {
            await ErrorResponse.WriteAsync(context, RouterError.InvalidApiKey());
            return;
        }

        // OpenAI's SDKs escape the '/' of "router/economy" or "azure/gpt-4o-mini" as %2F, which the server leaves escaped
        // in the path; the catch-all route also takes the id with its '/' as is.
        if ((Find(id) ?? (id.Contains('%', StringComparison.Ordinal) ? Find(Uri.UnescapeDataString(id)) : null)) is not { } entry)
        {
            await ErrorResponse.WriteAsync(context, new RouterError(404, "invalid_request_error", "model_not_found",
                $"The model '{(id.Length > 100 ? id[..100] : id)}' does not exist; choose one of {string.Join(", ", catalog.ValidModelNames)}.", "model"));
            return;
        }

        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, entry, RouterHttpJsonContext.Default.ModelEntry, context.RequestAborted);
    }

    private ModelEntry? Find(string id) => Entries().FirstOrDefault(e => string.Equals(e.Id, id, StringComparison.OrdinalIgnoreCase));

    private IEnumerable<ModelEntry> Entries() => ModelCatalog.Aliases
        .Select(alias => new ModelEntry(alias, "model", 0, "router", null, null))
        .Concat(catalog.Models.Select(m => new ModelEntry(m.Id, "model", 0, m.Provider.Name, m.Tier.ToWire(), m.ContextWindow)));
}

/// <summary>OpenAI's model list.</summary>
public sealed record ModelList(
    [property: JsonPropertyName("object")] string Kind,
    [property: JsonPropertyName("data")] IReadOnlyList<ModelEntry> Data);

/// <summary>One model of the list, with the router's tier and context window.</summary>
public sealed record ModelEntry(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Kind,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("owned_by")] string OwnedBy,
    [property: JsonPropertyName("tier"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Tier,
    [property: JsonPropertyName("context_window"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? ContextWindow);
