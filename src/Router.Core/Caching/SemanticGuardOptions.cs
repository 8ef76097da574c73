using System.ComponentModel.DataAnnotations;

namespace Router.Core.Caching;

/// <summary>Which semantic guards run, bound from <see cref="Section"/>.</summary>
public sealed class SemanticGuardOptions
{
    /// <summary>Configuration section the options bind from.</summary>
    public const string Section = "Router:Cache:Guards";

    /// <summary>Reject when a number appears in one prompt only. Default: true.</summary>
    public bool Numbers { get; set; } = true;

    /// <summary>Reject when a proper noun, acronym or product name appears in one prompt only. Default: true.</summary>
    public bool Entities { get; set; } = true;

    /// <summary>Reject when the prompts have a different number of negation cues. Default: true.</summary>
    public bool Negations { get; set; } = true;

    /// <summary>Reject when a code identifier appears in one prompt only. Default: true.</summary>
    public bool CodeIdentifiers { get; set; } = true;

    /// <summary>Reject prompts whose labelled answer choices differ. Default: true.</summary>
    public bool Choices { get; set; } = true;

    /// <summary>Reject prompts that share most content words but not all (a swapped or added word). Default: true.</summary>
    public bool NearDuplicates { get; set; } = true;

    /// <summary>Dice overlap of content words from which a remaining difference counts as a different item. Default: 0.82.</summary>
    [Range(0.0, 1.0)]
    public double NearDuplicateOverlap { get; set; } = 0.82;

    /// <summary>
    /// Characters of a prompt the embedding sees (analysis embeds the first <c>EmbeddingHeadChars</c> and the last
    /// <c>EmbeddingTailChars</c>; set from <see cref="Analysis.RequestAnalyzerOptions"/>, not bound). Past it, a paraphrase
    /// must use the same content words: the embedding cannot vouch for the middle of a long prompt.
    /// </summary>
    internal int EmbeddedChars { get; set; } = 560;
}
