using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure;
using Azure.Data.Tables;
using Router.Core.Catalog;
using Router.Core.Weights;
using Router.Infrastructure.Storage;

namespace Router.Infrastructure.Weights;

/// <summary>The weights snapshot in memory, versioned with the same compare-and-swap as the table store.</summary>
internal sealed class InMemoryWeightsStore : IWeightsStore
{
    private readonly Lock _gate = new();
    private RoutingWeights _current = RoutingWeights.Empty;

    public ValueTask<(RoutingWeights Weights, string? ETag)> GetAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult((_current, _current.Version == 0 ? null : (string?)_current.Version.ToString(CultureInfo.InvariantCulture)));
        }
    }

    public ValueTask<bool> TryWriteAsync(RoutingWeights weights, string? expectedETag, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var etag = _current.Version == 0 ? null : _current.Version.ToString(CultureInfo.InvariantCulture);
            if (etag != expectedETag)
            {
                return ValueTask.FromResult(false);
            }

            _current = weights;
            return ValueTask.FromResult(true);
        }
    }
}

/// <summary>The weights snapshot in Table Storage: row <c>current</c> is replaced only if its ETag is unchanged, so
/// overlapping recomputes write one version; every version is also kept as its own row. The snapshot's JSON is stored
/// gzip'd, split over binary properties; rows of the older single <c>Json</c> property are still read.</summary>
internal sealed class TableWeightsStore(RouterTables tables) : IWeightsStore
{
    private const string Table = "weights";

    // A binary property holds 64 KB and a row 1 MB: 15 parts leave room for the keys and the other properties.
    private const int PartBytes = 64 * 1024;
    private const int MaxParts = 15;

    public async ValueTask<(RoutingWeights Weights, string? ETag)> GetAsync(CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>("snapshot", "current", cancellationToken: cancellationToken);
        if (!row.HasValue)
        {
            return (RoutingWeights.Empty, null);
        }

        return (Read(row.Value!).ToWeights(), row.Value!.ETag.ToString());
    }

    public async ValueTask<bool> TryWriteAsync(RoutingWeights weights, string? expectedETag, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        var compressed = Compress(weights);
        var entity = Entity("snapshot", "current", weights.Version, compressed);
        try
        {
            if (expectedETag is null)
            {
                await table.AddEntityAsync(entity, cancellationToken);
            }
            else
            {
                await table.UpdateEntityAsync(entity, new ETag(expectedETag), TableUpdateMode.Replace, cancellationToken);
            }
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            return false;
        }

        await table.UpsertEntityAsync(Entity("history", weights.Version.ToString("D19", CultureInfo.InvariantCulture), weights.Version, compressed), TableUpdateMode.Replace, cancellationToken);
        return true;
    }

    // The JSON as gzip in binary properties of at most 64 KB each (a string property holds 32K UTF-16 characters,
    // which the evidence of 7 models in every task and band already passed, and every write then failed).
    private static byte[] Compress(RoutingWeights weights)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            JsonSerializer.Serialize(gzip, WeightsDocument.From(weights), WeightsJsonContext.Default.WeightsDocument);
        }

        return buffer.ToArray();
    }

    private static TableEntity Entity(string partitionKey, string rowKey, long version, byte[] compressed)
    {
        var parts = (compressed.Length + PartBytes - 1) / PartBytes;
        if (parts > MaxParts)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"Weights version {version} is {compressed.Length} bytes compressed; a table row holds at most {MaxParts * PartBytes}."));
        }

        var entity = new TableEntity(partitionKey, rowKey) { ["Version"] = version, ["Parts"] = parts };
        for (var i = 0; i < parts; i++)
        {
            entity[Part(i)] = compressed[(i * PartBytes)..Math.Min(compressed.Length, (i + 1) * PartBytes)];
        }

        return entity;
    }

    private static WeightsDocument Read(TableEntity row)
    {
        if (row.GetString("Json") is { } json)
        {
            // Written before the snapshot was compressed.
            return JsonSerializer.Deserialize(json, WeightsJsonContext.Default.WeightsDocument)!;
        }

        using var compressed = new MemoryStream();
        for (var i = 0; i < (row.GetInt32("Parts") ?? 0); i++)
        {
            compressed.Write(row.GetBinary(Part(i)));
        }

        compressed.Position = 0;
        using var gzip = new GZipStream(compressed, CompressionMode.Decompress);
        return JsonSerializer.Deserialize(gzip, WeightsJsonContext.Default.WeightsDocument)!;
    }

    private static string Part(int index) => "Gzip" + index.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A weights snapshot as JSON (stored, and shown by <c>GET /admin/weights</c>).</summary>
public sealed record WeightsDocument
{
    [JsonPropertyName("version")] public long Version { get; init; }
    [JsonPropertyName("computed_at")] public DateTimeOffset ComputedAt { get; init; }
    [JsonPropertyName("adjustments")] public Dictionary<string, AdjustmentDocument> Adjustments { get; init; } = [];
    [JsonPropertyName("demoted_models")] public Dictionary<string, string> DemotedModels { get; init; } = [];
    [JsonPropertyName("evidence")] public List<EstimateDocument> Evidence { get; init; } = [];

    /// <summary>The document of a snapshot.</summary>
    public static WeightsDocument From(RoutingWeights w) => new()
    {
        Version = w.Version,
        ComputedAt = w.ComputedAt,
        Adjustments = w.Adjustments.ToDictionary(a => a.Key, a => new AdjustmentDocument(a.Value.Floor.ToWire(), a.Value.Evidence)),
        DemotedModels = w.DemotedModels.ToDictionary(d => d.Key, d => d.Value),
        Evidence = w.Evidence.Select(e => new EstimateDocument(e.Key, e.Model, e.Tier.ToWire(), e.Audits, Math.Round(e.EffectiveAudits, 2), e.Mean, e.Lower, e.Upper)).ToList(),
    };

    /// <summary>The snapshot of a document.</summary>
    public RoutingWeights ToWeights() => new(
        Version,
        ComputedAt,
        Adjustments.ToDictionary(a => a.Key, a => new TierAdjustment(ModelTierNames.TryParse(a.Value.Floor, out var t) ? t : ModelTier.Premium, a.Value.Evidence)),
        DemotedModels)
    {
        Evidence = Evidence.Select(e => new QualityEstimate(e.Key, e.Model, ModelTierNames.TryParse(e.Tier, out var t) ? t : ModelTier.Economy, e.Audits, e.EffectiveAudits, e.Mean, e.Lower, e.Upper)).ToArray(),
    };
}

/// <summary>A raised band.</summary>
public sealed record AdjustmentDocument([property: JsonPropertyName("floor")] string Floor, [property: JsonPropertyName("evidence")] string Evidence);

/// <summary>One quality estimate.</summary>
public sealed record EstimateDocument(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("tier")] string Tier,
    [property: JsonPropertyName("audits")] int Audits,
    [property: JsonPropertyName("effective_audits")] double EffectiveAudits,
    [property: JsonPropertyName("mean")] double Mean,
    [property: JsonPropertyName("lower")] double Lower,
    [property: JsonPropertyName("upper")] double Upper);

/// <summary>Source-generated JSON for weights documents.</summary>
[JsonSerializable(typeof(WeightsDocument))]
public sealed partial class WeightsJsonContext : JsonSerializerContext;
