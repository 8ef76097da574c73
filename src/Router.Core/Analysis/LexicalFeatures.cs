namespace Router.Core.Analysis;

/// <summary>
/// Hashed bag of words: lower-cased word unigrams and bigrams (single characters for CJK) of the instruction window,
/// hashed into <see cref="Buckets"/> slots. Gives the task model the phrasing cues that no hand-written list anticipates.
/// </summary>
internal static class LexicalFeatures
{
    public const int Buckets = 4096;
    private const int HeadChars = 600;
    private const int TailChars = 200;
    private const int MaxTokens = 160;

    /// <summary>Distinct hashed buckets present in the text, written to <paramref name="buckets"/>; returns how many.</summary>
    public static int Compute(string text, Span<int> buckets)
    {
        var window = text.Length <= HeadChars + TailChars ? text.AsSpan() : text.AsSpan(0, HeadChars);
        var count = Add(window, buckets, 0);
        if (text.Length > HeadChars + TailChars)
        {
            count = Add(text.AsSpan(text.Length - TailChars), buckets, count);
        }

        return count;
    }

    public static int MaxBuckets => 2 * MaxTokens * 2;

    private static int Add(ReadOnlySpan<char> text, Span<int> buckets, int count)
    {
        Span<char> word = stackalloc char[32];
        uint previous = 0;
        var tokens = 0;
        var i = 0;
        while (i < text.Length && tokens < MaxTokens)
        {
            var c = text[i];
            if (IsCjk(c))
            {
                var h = Hash(text.Slice(i, 1));
                count = Push(buckets, count, h);
                if (previous != 0)
                {
                    count = Push(buckets, count, Combine(previous, h));
                }

                previous = h;
                tokens++;
                i++;
                continue;
            }

            if (!char.IsLetterOrDigit(c) && c != '\'')
            {
                if (c is '?' or '!' or ':' or '`' or '{' or '=' or '$' or '%')
                {
                    count = Push(buckets, count, Hash([c]));
                }

                i++;
                continue;
            }

            var length = 0;
            while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '\'') && !IsCjk(text[i]))
            {
                if (length < word.Length)
                {
                    word[length++] = char.IsAsciiDigit(text[i]) ? '0' : char.ToLowerInvariant(text[i]);
                }

                i++;
            }

            var hash = Hash(word[..length]);
            count = Push(buckets, count, hash);
            if (previous != 0)
            {
                count = Push(buckets, count, Combine(previous, hash));
            }

            previous = hash;
            tokens++;
        }

        return count;
    }

    private static int Push(Span<int> buckets, int count, uint hash)
    {
        var bucket = (int)(hash % Buckets);
        if (count < buckets.Length && buckets[..count].IndexOf(bucket) < 0)
        {
            buckets[count++] = bucket;
        }

        return count;
    }

    private static bool IsCjk(char c) => c is >= '\u3040' and <= '\u30FF' or >= '\u3400' and <= '\u9FFF' or >= '\uAC00' and <= '\uD7AF';

    private static uint Combine(uint a, uint b) => unchecked((a * 16777619u) ^ (b + 0x9E3779B9u));

    private static uint Hash(ReadOnlySpan<char> text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = unchecked((hash ^ c) * 16777619u);
        }

        return hash == 0 ? 1 : hash;
    }
}
