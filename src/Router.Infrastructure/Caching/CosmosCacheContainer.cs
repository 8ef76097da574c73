using System.Collections.ObjectModel;
using System.Text.RegularExpressions;
using Microsoft.Azure.Cosmos;

namespace Router.Infrastructure.Caching;

/// <summary>The one definition of the cache container: Bicep (<c>infra/modules/cosmos.bicep</c>) must match it, and a
/// contract test checks that it does. One container per embedding model.</summary>
public static partial class CosmosCacheContainer
{
    /// <summary>Default time to live of an item in seconds (7 days); items may set their own <c>ttl</c>.</summary>
    public const int DefaultTimeToLiveSeconds = 7 * 24 * 3600;

    /// <summary>Partition key paths: tenant first, so an answer can never be read across tenants.</summary>
    public static IReadOnlyList<string> PartitionKeyPaths { get; } = ["/tenantId", "/scope"];

    /// <summary>Container id for an embedding model: the int8 and float MiniLM share one (same space).</summary>
    public static string NameFor(string embeddingModel)
    {
        var family = embeddingModel.EndsWith("-int8", StringComparison.OrdinalIgnoreCase) ? embeddingModel[..^5] : embeddingModel;
        return "cache-" + NonSlug().Replace(family.ToLowerInvariant(), "-");
    }

    /// <summary>Dimensions of the known embedding models.</summary>
    public static int DimensionsFor(string embeddingModel) =>
        embeddingModel.StartsWith("text-embedding-3-large", StringComparison.OrdinalIgnoreCase) ? 3072
        : embeddingModel.StartsWith("text-embedding", StringComparison.OrdinalIgnoreCase) ? 1536
        : 384;

    /// <summary>The container's properties: hierarchical partition key, vector policy and index, default TTL.</summary>
    public static ContainerProperties Definition(string embeddingModel)
    {
        var properties = new ContainerProperties(NameFor(embeddingModel), partitionKeyPaths: [.. PartitionKeyPaths])
        {
            DefaultTimeToLive = DefaultTimeToLiveSeconds,
            VectorEmbeddingPolicy = new VectorEmbeddingPolicy(new Collection<Embedding>
            {
                new() { Path = "/embedding", DataType = VectorDataType.Float32, DistanceFunction = DistanceFunction.Cosine, Dimensions = DimensionsFor(embeddingModel) },
            }),
            IndexingPolicy = new IndexingPolicy { IndexingMode = IndexingMode.Consistent, Automatic = true },
        };
        properties.IndexingPolicy.IncludedPaths.Add(new IncludedPath { Path = "/*" });
        properties.IndexingPolicy.ExcludedPaths.Add(new ExcludedPath { Path = "/embedding/*" });
        properties.IndexingPolicy.ExcludedPaths.Add(new ExcludedPath { Path = "/answer/?" });
        properties.IndexingPolicy.ExcludedPaths.Add(new ExcludedPath { Path = "/\"_etag\"/?" });
        properties.IndexingPolicy.VectorIndexes.Add(new VectorIndexPath { Path = "/embedding", Type = VectorIndexType.QuantizedFlat });
        return properties;
    }

    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex NonSlug();
}
