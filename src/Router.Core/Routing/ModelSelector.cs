using Router.Core.Catalog;
using Router.Core.Chat;

namespace Router.Core.Routing;

/// <summary>How the client named its model.</summary>
public enum ModelRequestKind
{
    /// <summary><c>auto</c>: the router picks the tier and the model.</summary>
    Auto,

    /// <summary><c>router/&lt;tier&gt;</c>: the router picks a model inside the tier.</summary>
    Tier,

    /// <summary>A catalog id: that model, failing over only inside its tier.</summary>
    Pinned,
}

/// <summary>The client's <c>model</c> field, resolved against the catalog.</summary>
/// <param name="Kind">Auto, tier alias or pinned model.</param>
/// <param name="Tier">The tier of a tier alias or pinned model.</param>
/// <param name="Pinned">The pinned model.</param>
public sealed record ModelRequest(ModelRequestKind Kind, ModelTier? Tier, CatalogModel? Pinned)
{
    /// <summary>Resolves <paramref name="model"/>; an unknown name is a 400 that lists every valid choice.</summary>
    public static bool TryResolve(ModelCatalog catalog, string model, out ModelRequest request, out RouterError error)
    {
        error = null!;
        if (string.Equals(model, ModelCatalog.AutoAlias, StringComparison.OrdinalIgnoreCase))
        {
            request = new ModelRequest(ModelRequestKind.Auto, null, null);
            return true;
        }

        if (model.StartsWith(ModelCatalog.TierAliasPrefix, StringComparison.OrdinalIgnoreCase)
            && ModelTierNames.TryParse(model[ModelCatalog.TierAliasPrefix.Length..], out var tier))
        {
            request = new ModelRequest(ModelRequestKind.Tier, tier, null);
            return true;
        }

        if (catalog.TryGet(model, out var pinned))
        {
            request = new ModelRequest(ModelRequestKind.Pinned, pinned.Tier, pinned);
            return true;
        }

        request = null!;
        var shown = model.Length <= 80 ? model : model[..80] + "…";
        error = RouterError.InvalidRequest(
            $"The model '{shown}' does not exist. Valid choices: {string.Join(", ", catalog.ValidModelNames)}.",
            "model",
            "model_not_found");
        return false;
    }
}
