using Microsoft.ML.Tokenizers;

namespace Router.Core.Analysis;

/// <summary>
/// Token counts whose cost stays linear in the text. A byte-pair encoder merges within one pre-token, and its cost grows
/// with the square of that pre-token's length: a 200,000-letter run with no space (or a long paragraph of CJK text,
/// which has none) took seconds of CPU, and so did a run of whitespace, which the encoder takes as one pre-token too
/// (256,000 spaces: 14 s). Runs longer than <see cref="MaxRun"/> characters of whitespace, or without any, are counted
/// in slices of that length, which changes their count by at most a token per slice.
/// </summary>
internal static class BoundedTokenCount
{
    /// <summary>Longest run of whitespace, or of characters without whitespace, counted in one piece.</summary>
    public const int MaxRun = 256;

    public static int Count(Tokenizer tokenizer, string text)
    {
        var span = text.AsSpan();
        if (!HasLongRun(span))
        {
            return tokenizer.CountTokens(text);
        }

        long total = 0;
        var start = 0;
        var run = 0;
        var blank = false;
        for (var i = 0; i < span.Length; i++)
        {
            var isBlank = char.IsWhiteSpace(span[i]);
            run = isBlank == blank ? run + 1 : 1;
            blank = isBlank;

            // Cut after a full slice, but never between the halves of a surrogate pair.
            if (run >= MaxRun && !char.IsHighSurrogate(span[i]))
            {
                total += tokenizer.CountTokens(span[start..(i + 1)]);
                start = i + 1;
                run = 0;
            }
        }

        total += start < span.Length ? tokenizer.CountTokens(span[start..]) : 0;
        return (int)Math.Min(total, int.MaxValue);
    }

    private static bool HasLongRun(ReadOnlySpan<char> text)
    {
        var run = 0;
        var blank = false;
        foreach (var c in text)
        {
            var isBlank = char.IsWhiteSpace(c);
            run = isBlank == blank ? run + 1 : 1;
            blank = isBlank;
            if (run > MaxRun)
            {
                return true;
            }
        }

        return false;
    }
}
