using Microsoft.ML.Tokenizers;

namespace Router.Core.Analysis;

/// <summary>
/// Token counts whose cost stays linear in the text. A byte-pair encoder merges within one pre-token, and its cost grows
/// with the square of that pre-token's length: a 200,000-letter run with no space (or a long paragraph of CJK text,
/// which has none) took seconds of CPU. Runs longer than <see cref="MaxRun"/> characters without whitespace are counted
/// in slices of that length, which changes their count by at most a token per slice.
/// </summary>
internal static class BoundedTokenCount
{
    /// <summary>Longest run of non-whitespace characters counted in one piece.</summary>
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
        for (var i = 0; i < span.Length; i++)
        {
            if (char.IsWhiteSpace(span[i]))
            {
                run = 0;
                continue;
            }

            // Cut after a full slice, but never between the halves of a surrogate pair.
            if (++run >= MaxRun && !char.IsHighSurrogate(span[i]))
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
        foreach (var c in text)
        {
            run = char.IsWhiteSpace(c) ? 0 : run + 1;
            if (run > MaxRun)
            {
                return true;
            }
        }

        return false;
    }
}
