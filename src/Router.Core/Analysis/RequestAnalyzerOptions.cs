using System.ComponentModel.DataAnnotations;

namespace Router.Core.Analysis;

/// <summary>Settings of request analysis, bound from <c>Router:Analysis</c>.</summary>
public sealed class RequestAnalyzerOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Router:Analysis";

    /// <summary>Compute the sentence embedding when a generator is registered (default true); false forces the keyword-only path.</summary>
    public bool UseEmbedding { get; set; } = true;

    /// <summary>Characters from the start of the routed text that go into the embedding (default 400, about 100 MiniLM tokens).</summary>
    [Range(32, 8192)]
    public int EmbeddingHeadChars { get; set; } = 400;

    /// <summary>Characters from the end of a long routed text that go into the embedding (default 160).</summary>
    [Range(0, 4096)]
    public int EmbeddingTailChars { get; set; } = 160;

    /// <summary>Characters scanned by the pattern rules at the start of each message (default 32768); the rest of a huge message is scanned only at its end.</summary>
    [Range(1024, 1 << 24)]
    public int ScanHeadChars { get; set; } = 32 * 1024;

    /// <summary>Characters scanned at the end of a message longer than <see cref="ScanHeadChars"/> (default 8192).</summary>
    [Range(0, 1 << 22)]
    public int ScanTailChars { get; set; } = 8 * 1024;

    /// <summary>Messages up to this many characters are token-counted exactly (default 262144); longer ones are extrapolated from counted samples.</summary>
    [Range(1024, int.MaxValue)]
    public int ExactTokenCountMaxChars { get; set; } = 256 * 1024;

    /// <summary>A later user turn of at most this many words (outside code blocks) that edits or refers back to earlier output inherits the earlier task (default 30).</summary>
    [Range(1, 200)]
    public int FollowUpMaxWords { get; set; } = 30;

    /// <summary>Slots of the direct-mapped memo of recent analyses (default 10000, rounded up to a power of two; 0 turns it off). A repeat
    /// (a retry, an exact-cache hit) then skips the patterns and the embedding model.</summary>
    [Range(0, 10_000_000)]
    public int MemoEntries { get; set; } = 10_000;
}
