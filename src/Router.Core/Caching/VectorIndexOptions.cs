using System.ComponentModel.DataAnnotations;

namespace Router.Core.Caching;

/// <summary>Size, lifetime and search effort of the in-process vector index, bound from <see cref="Section"/>.</summary>
public sealed class VectorIndexOptions
{
    /// <summary>Configuration section the options bind from.</summary>
    public const string Section = "Router:Cache:Index";

    /// <summary>Width of every stored vector. Default: 384 (all-MiniLM-L6-v2).</summary>
    [Range(8, 4096)]
    public int Dimensions { get; set; } = 384;

    /// <summary>Most entries kept across all scopes; the least recently used are evicted past it. Default: 100,000
    /// (about 200 MB at 384 dimensions: ~2 KB per entry, ~2.6 KB for an entry alone in its scope).</summary>
    [Range(1, 50_000_000)]
    public int MaxEntries { get; set; } = 100_000;

    /// <summary>How long an entry may be served after it was stored (expired ones are dropped by writes every eighth of
    /// it); null keeps entries until evicted. Default: 7 days.</summary>
    public TimeSpan? TimeToLive { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Entries a cell holds before it splits in two by 2-means; bounds the work of one probe. Default: 1,024.</summary>
    [Range(64, 1_000_000)]
    public int MaxCellSize { get; set; } = 1_024;

    /// <summary>Cells whose centroids are closest to the query that a search scans. Default: 16.</summary>
    [Range(1, 100_000)]
    public int ProbedCells { get; set; } = 16;

    /// <summary>Candidates kept by the 384-bit sign-code (Hamming) prefilter and reranked with exact float cosine. Default: 1,024.</summary>
    [Range(1, 100_000)]
    public int RerankCandidates { get; set; } = 1_024;

    /// <summary>Scopes with at most this many entries are searched exactly (every vector reranked). Default: 1,024.</summary>
    [Range(0, 1_000_000)]
    public int ExactSearchBelow { get; set; } = 1_024;

    /// <summary>Most bytes of cached prompts and answers kept in process, exact and semantic together (two bytes a
    /// character plus ~500 per answer); the least recently used are evicted past it. Default: 268,435,456 (256 MB).</summary>
    [Range(typeof(long), "1048576", "1099511627776")]
    public long MaxAnswerBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>The share of <see cref="MaxAnswerBytes"/> one tenant's answers may hold once the cache is full: past it, a
    /// tenant's new answer takes the room of its own oldest ones rather than other tenants'. 1 turns the share off.
    /// Default: 0.5.</summary>
    [Range(0.01, 1.0)]
    public double MaxTenantShare { get; set; } = 0.5;
}
