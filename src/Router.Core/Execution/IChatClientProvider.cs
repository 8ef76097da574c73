using Microsoft.Extensions.AI;
using Router.Core.Catalog;

namespace Router.Core.Execution;

/// <summary>Typed chat clients for calls the router itself makes (audit references, the judge), one per catalog model,
/// built on the provider SDKs with their own retries off.</summary>
public interface IChatClientProvider
{
    /// <summary>A client that calls <paramref name="model"/>.</summary>
    IChatClient For(CatalogModel model);
}
