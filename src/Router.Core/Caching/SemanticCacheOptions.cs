using System.ComponentModel.DataAnnotations;

namespace Router.Core.Caching;

/// <summary>The response cache (section <c>Router:Cache</c>): thresholds, policy and lifetime.</summary>
public sealed class SemanticCacheOptions
{
    /// <summary>Configuration section the options bind from.</summary>
    public const string Section = "Router:Cache";

    /// <summary>Default cosine threshold for all-MiniLM-L6-v2 embeddings, calibrated on the cache pairs (README, "Cache").</summary>
    public const float DefaultSimilarityThreshold = 0.86f;

    /// <summary>Whether the cache is used at all (default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Minimum cosine for a semantic hit with the local model (default 0.86); tenants and requests may only raise it.</summary>
    [Range(0.5, 1.0)]
    public float SimilarityThreshold { get; set; } = DefaultSimilarityThreshold;

    /// <summary>Thresholds for other embedding models, by model id (default: text-embedding-3-small 0.92, not calibrated here).</summary>
    public Dictionary<string, float> ModelThresholds { get; set; } = new(StringComparer.OrdinalIgnoreCase) { ["text-embedding-3-small"] = 0.92f };

    /// <summary>Whether semantic (similarity) hits are served; exact hits are served either way (default true).</summary>
    public bool Semantic { get; set; } = true;

    /// <summary>Skip the cache for high-risk requests (default true).</summary>
    public bool SkipHighRisk { get; set; } = true;

    /// <summary>Skip the cache for requests that declare tools (default true).</summary>
    public bool SkipTools { get; set; } = true;

    /// <summary>How long an answer is kept (default 7 days; tenants may set their own).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan TimeToLive { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Semantic candidates examined per lookup (default 4): the best that passes the guards is served.</summary>
    [Range(1, 50)]
    public int Candidates { get; set; } = 4;

    /// <summary>How long one store call of a lookup (the exact read, the vector search) may take before the request goes
    /// on as a miss (default 2 seconds): a slow or throttled store costs a cache miss, not a stalled request.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan LookupTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The threshold for an embedding model.</summary>
    public float ThresholdFor(string embeddingModel) =>
        ModelThresholds.TryGetValue(embeddingModel, out var threshold) ? threshold : SimilarityThreshold;
}
