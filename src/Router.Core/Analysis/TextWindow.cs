using System.Text;

namespace Router.Core.Analysis;

/// <summary>Bounded views of arbitrarily large text, and repair of malformed UTF-16.</summary>
internal static class TextWindow
{
    private const string Ellipsis = "\n…\n";

    /// <summary>Replaces lone surrogates with U+FFFD so tokenizers and regexes see well-formed text; returns the input when it is already well formed.</summary>
    public static string Sanitize(string text)
    {
        var span = text.AsSpan();
        var bad = IndexOfLoneSurrogate(span);
        if (bad < 0)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        builder.Append(span[..bad]);
        for (var i = bad; i < span.Length; i++)
        {
            var c = span[i];
            if (char.IsHighSurrogate(c) && i + 1 < span.Length && char.IsLowSurrogate(span[i + 1]))
            {
                builder.Append(c).Append(span[i + 1]);
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                builder.Append('\uFFFD');
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    private static int IndexOfLoneSurrogate(ReadOnlySpan<char> span)
    {
        var i = span.IndexOfAnyInRange('\uD800', '\uDFFF');
        while (i >= 0 && i < span.Length)
        {
            var c = span[i];
            if (char.IsHighSurrogate(c) && i + 1 < span.Length && char.IsLowSurrogate(span[i + 1]))
            {
                var next = span[(i + 2)..].IndexOfAnyInRange('\uD800', '\uDFFF');
                if (next < 0)
                {
                    return -1;
                }

                i += 2 + next;
                continue;
            }

            return i;
        }

        return -1;
    }

    /// <summary>The text itself when short, else its first <paramref name="head"/> and last <paramref name="tail"/> characters joined by an ellipsis line, cut on word boundaries and never inside a surrogate pair.</summary>
    public static string HeadAndTail(string text, int head, int tail)
    {
        if (text.Length <= head + tail + Ellipsis.Length)
        {
            return text;
        }

        var headEnd = CutBackToBoundary(text, head);
        var tailStart = CutForwardToBoundary(text, text.Length - tail);
        return tail == 0
            ? text[..headEnd]
            : string.Concat(text.AsSpan(0, headEnd), Ellipsis, text.AsSpan(tailStart));
    }

    /// <summary>The scanned part of a message: all of it when short, else head and tail windows.</summary>
    public static string ScanWindow(string text, int head, int tail) => HeadAndTail(text, head, tail);

    private static int CutBackToBoundary(string text, int index)
    {
        var limit = Math.Max(0, index - 40);
        for (var i = index; i > limit; i--)
        {
            if (char.IsWhiteSpace(text[i - 1]))
            {
                return i;
            }
        }

        return char.IsLowSurrogate(text[index]) ? index - 1 : index;
    }

    private static int CutForwardToBoundary(string text, int index)
    {
        var limit = Math.Min(text.Length - 1, index + 40);
        for (var i = index; i < limit; i++)
        {
            if (char.IsWhiteSpace(text[i]))
            {
                return i + 1;
            }
        }

        return char.IsLowSurrogate(text[index]) ? index + 1 : index;
    }
}
