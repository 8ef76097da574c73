namespace Router.Core.Analysis;

/// <summary>
/// The fixed-order numeric view of <see cref="PromptSignals"/> that learned models consume: counts are log-scaled so
/// one very long prompt does not dominate, densities are per word.
/// </summary>
public static class StructuralFeatures
{
    /// <summary>Feature names, in the order <see cref="Fill"/> writes them.</summary>
    public static readonly IReadOnlyList<string> Names =
    [
        "length", "sentences", "quantities", "steps", "relations", "math", "constraints", "code", "parts",
        "reasoning", "domain", "negations", "choices", "numeric_choices",
    ];

    /// <summary>Number of structural features.</summary>
    public const int Count = 14;

    /// <summary>Writes the features of <paramref name="s"/> into <paramref name="destination"/> (length ≥ <see cref="Count"/>).</summary>
    public static void Fill(in PromptSignals s, Span<double> destination)
    {
        var d = destination[..Count];
        d[0] = Math.Log(1 + s.Words);
        d[1] = Math.Log(1 + s.Sentences);
        d[2] = Math.Log(1 + s.Quantities);
        d[3] = Math.Log(1 + s.QuantitativeSentences);
        d[4] = Math.Log(1 + s.Relations);
        d[5] = Math.Log(1 + s.MathNotation);
        d[6] = Math.Log(1 + s.Constraints);
        d[7] = Math.Log(1 + s.Code);
        d[8] = Math.Log(1 + s.Parts);
        d[9] = Math.Log(1 + s.ReasoningCues);
        d[10] = 10.0 * s.DomainTerms / Math.Max(8, s.Words);
        d[11] = Math.Log(1 + s.Negations);
        d[12] = s.Choices >= 2 ? 1 : 0;
        d[13] = s.Choices >= 2 ? Math.Min(1.0, s.NumericChoices / (double)s.Choices) : 0;
    }
}
