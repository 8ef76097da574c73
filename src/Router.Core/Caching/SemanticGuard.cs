using Microsoft.Extensions.Options;

namespace Router.Core.Caching;

/// <summary>Vetoes a semantic cache hit whose prompt differs from the request in a way embeddings blur.</summary>
public interface ISemanticGuard
{
    /// <summary>Checks a cached prompt against the request; both feature sets come from <see cref="PromptFeatures.Extract"/>.</summary>
    GuardVerdict Check(PromptFeatures request, PromptFeatures candidate);
}

/// <summary>The guards that refused a candidate; <see cref="None"/> when it may be served.</summary>
[Flags]
public enum GuardRejections
{
    /// <summary>No guard objected.</summary>
    None = 0,

    /// <summary>A number (digits or a number word) appears in one prompt only.</summary>
    Number = 1,

    /// <summary>A proper noun, acronym or product name appears in one prompt only.</summary>
    Entity = 2,

    /// <summary>The prompts have a different number of negation cues.</summary>
    Negation = 4,

    /// <summary>A code identifier (backticks, snake_case, dotted.name, camelCase, call, flag) appears in one prompt only.</summary>
    CodeIdentifier = 8,

    /// <summary>The prompts use nearly the same content words but not all: a neighbouring item, not a paraphrase.</summary>
    NearDuplicate = 16,

    /// <summary>The prompts list labelled answer choices that differ in label, order or wording.</summary>
    Choices = 32,
}

/// <summary>Outcome of <see cref="ISemanticGuard.Check"/>: every guard that rejected and, for the first, what it saw.</summary>
/// <param name="Rejections">The guards that objected.</param>
/// <param name="Evidence">Prompt fragments that triggered the first rejection, for offline diagnosis only: never log it.</param>
public readonly record struct GuardVerdict(GuardRejections Rejections, string? Evidence)
{
    /// <summary>A verdict that lets the candidate through.</summary>
    public static GuardVerdict Accept { get; }

    /// <summary>Whether the cached answer may be served.</summary>
    public bool Accepted => Rejections == GuardRejections.None;
}

/// <summary>Convenience overloads for <see cref="ISemanticGuard"/>.</summary>
public static class SemanticGuardExtensions
{
    /// <summary>Extracts both prompts' features and checks them; prefer the feature overload on hot paths.</summary>
    public static GuardVerdict Check(this ISemanticGuard guard, string request, string candidate)
    {
        ArgumentNullException.ThrowIfNull(guard);
        return guard.Check(PromptFeatures.Extract(request), PromptFeatures.Extract(candidate));
    }
}

/// <summary>Runs the number, entity, negation, code-identifier and substitution guards; allocation-light, microseconds.</summary>
internal sealed class SemanticGuard(IOptions<SemanticGuardOptions> options) : ISemanticGuard
{
    private readonly SemanticGuardOptions _options = options.Value;

    public SemanticGuard(SemanticGuardOptions options)
        : this(Options.Create(options))
    {
    }

    public GuardVerdict Check(PromptFeatures request, PromptFeatures candidate)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(candidate);

        var rejections = GuardRejections.None;
        string? evidence = null;

        if (_options.Numbers && !request.Numbers.AsSpan().SequenceEqual(candidate.Numbers))
        {
            Reject(GuardRejections.Number, () => "numbers {" + PromptFeatures.Describe(request.Numbers) + "} vs {" +
                PromptFeatures.Describe(candidate.Numbers) + "}");
        }

        if (_options.Negations && request.Negations != candidate.Negations)
        {
            Reject(GuardRejections.Negation, () => $"negation cues {request.Negations} vs {candidate.Negations}");
        }

        if (_options.Entities)
        {
            var missing = FirstMissingMention(request, candidate) ?? FirstMissingMention(candidate, request);
            if (missing is not null)
            {
                Reject(GuardRejections.Entity, () => "entity '" + missing + "' in one prompt only");
            }
        }

        if (_options.CodeIdentifiers)
        {
            var missing = FirstMissingIdentifier(request, candidate) ?? FirstMissingIdentifier(candidate, request);
            if (missing is not null)
            {
                Reject(GuardRejections.CodeIdentifier, () => "identifier '" + missing + "' in one prompt only");
            }
        }

        if (_options.Choices && !request.Choices.AsSpan().SequenceEqual(candidate.Choices))
        {
            Reject(GuardRejections.Choices, () => $"answer choices {request.Choices.Length} vs {candidate.Choices.Length}, or reworded");
        }

        if (_options.NearDuplicates)
        {
            var (overlap, differing) = ContentOverlap(request, candidate);
            if (differing > 0 && overlap >= _options.NearDuplicateOverlap)
            {
                Reject(GuardRejections.NearDuplicate, () => $"{differing} content words differ in otherwise shared text (overlap {overlap:F2})");
            }
            else if (differing > 0 && Math.Max(request.Length, candidate.Length) > _options.EmbeddedChars)
            {
                // A long prompt is embedded by its start and end only: a template around another document looks the same.
                Reject(GuardRejections.NearDuplicate, () => $"{differing} content words differ in a prompt longer than the embedded {_options.EmbeddedChars} characters");
            }
            else if (differing == 0 && IsTransposition(request.Words, candidate.Words) is { } swapped)
            {
                // The same words with two of them exchanged: "from Paris to Tokyo" / "from Tokyo to Paris", "cats hate dogs".
                Reject(GuardRejections.NearDuplicate, () => $"'{swapped.First}' and '{swapped.Second}' exchange places");
            }
            else if (IsWordSwap(request.Words, candidate.Words))
            {
                // Short prompts fall under the overlap bar with a single swapped word ("functional" / "formal region").
                Reject(GuardRejections.NearDuplicate, () => "same words in place but one swapped");
            }
        }

        return rejections == GuardRejections.None ? GuardVerdict.Accept : new GuardVerdict(rejections, evidence);

        void Reject(GuardRejections reason, Func<string> describe)
        {
            evidence ??= describe();
            rejections |= reason;
        }
    }

    private static string? FirstMissingMention(PromptFeatures from, PromptFeatures other)
    {
        // A name repeated in the same words around it is checked once: each check costs its own length, not the prompt's.
        var seen = from.Entities.Length > 8 ? new HashSet<PromptFeatures.Mention>() : null;
        foreach (var mention in from.Entities)
        {
            if (seen is not null && !seen.Add(mention))
            {
                continue;
            }

            // A name split or joined differently ("Hugging Face" / "HuggingFace") is still the same name.
            if (other.Mentions(mention.Value) ||
                (mention.Previous is not null && other.Mentions(mention.Previous + mention.Value)) ||
                (mention.Next is not null && other.Mentions(mention.Value + mention.Next)))
            {
                continue;
            }

            return mention.Value;
        }

        return null;
    }

    private static string? FirstMissingIdentifier(PromptFeatures from, PromptFeatures other)
    {
        foreach (var identifier in from.Identifiers)
        {
            if (!other.Mentions(identifier))
            {
                return identifier;
            }
        }

        return null;
    }

    /// <summary>True when the prompts are word for word the same except one or two adjacent words on each side, and
    /// the swapped words carry content (not "a" for "the").</summary>
    internal static bool IsWordSwap(string[] a, string[] b)
    {
        var min = Math.Min(a.Length, b.Length);
        var prefix = 0;
        while (prefix < min && a[prefix] == b[prefix])
        {
            prefix++;
        }

        var suffix = 0;
        while (suffix < min - prefix && a[a.Length - 1 - suffix] == b[b.Length - 1 - suffix])
        {
            suffix++;
        }

        var midA = a.AsSpan(prefix, a.Length - prefix - suffix);
        var midB = b.AsSpan(prefix, b.Length - prefix - suffix);
        if (midA.IsEmpty || midB.IsEmpty || midA.Length > 2 || midB.Length > 2 ||
            string.Concat(midA) == string.Concat(midB))
        {
            // Not a swap, or the same word split differently ("Hugging Face" / "HuggingFace").
            return false;
        }

        // Reordered words ("English speaking" / "speaking English") are no swap either.
        return (HasContent(midA) || HasContent(midB)) && !SameContentWords(midA, midB);

        // Numbers are the number guard's business ("2" / "two" is no swap).
        static bool HasContent(ReadOnlySpan<string> words)
        {
            foreach (var w in words)
            {
                if (!PromptFeatures.Stopwords.Contains(w) && !PromptFeatures.IsNumber(w))
                {
                    return true;
                }
            }

            return false;
        }
    }

    // Words that join two items without ordering them: "salt and pepper" is "pepper and salt", "Python vs Java" is "Java vs Python".
    private static readonly HashSet<string> Coordinators = new(StringComparer.Ordinal) { "and", "or", "vs", "versus", "v", "with", "plus", "nor" };

    /// <summary>
    /// When the prompts' content words (function words and numbers aside) are the same sequence except two that exchange
    /// places, returns those two; null otherwise. Items joined by a coordinator ("A and B") exchange freely; any other
    /// word between them (a preposition, a verb: "from A to B", "A hates B") makes their order part of the question.
    /// </summary>
    internal static (string First, string Second)? IsTransposition(string[] a, string[] b)
    {
        var ca = ContentPositions(a);
        var cb = ContentPositions(b);
        if (ca.Count != cb.Count)
        {
            return null;
        }

        var first = 0;
        while (first < ca.Count && ca[first].Word == cb[first].Word)
        {
            first++;
        }

        if (first == ca.Count)
        {
            return null;
        }

        var last = ca.Count - 1;
        while (ca[last].Word == cb[last].Word)
        {
            last--;
        }

        if (ca[first].Word != cb[last].Word || ca[last].Word != cb[first].Word)
        {
            return null;
        }

        for (var k = first + 1; k < last; k++)
        {
            if (ca[k].Word != cb[k].Word)
            {
                return null;
            }
        }

        return Ordered(a, ca[first].Index, ca[last].Index) || Ordered(b, cb[first].Index, cb[last].Index)
            ? (ca[first].Word, ca[last].Word)
            : null;

        // Whether a word other than a coordinator stands between the two exchanged words.
        static bool Ordered(string[] words, int from, int to)
        {
            if (to - from < 2)
            {
                return false;
            }

            for (var k = from + 1; k < to; k++)
            {
                if (!Coordinators.Contains(words[k]))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private static List<(string Word, int Index)> ContentPositions(string[] words)
    {
        var content = new List<(string, int)>(words.Length);
        for (var k = 0; k < words.Length; k++)
        {
            if (!PromptFeatures.Stopwords.Contains(words[k]) && !PromptFeatures.IsNumber(words[k]))
            {
                content.Add((PromptFeatures.Stem(words[k]), k));
            }
        }

        return content;
    }

    private static bool SameContentWords(ReadOnlySpan<string> a, ReadOnlySpan<string> b)
    {
        var left = new List<string>(a.Length);
        var right = new List<string>(b.Length);
        foreach (var w in a)
        {
            if (!PromptFeatures.Stopwords.Contains(w))
            {
                left.Add(PromptFeatures.Stem(w));
            }
        }

        foreach (var w in b)
        {
            if (!PromptFeatures.Stopwords.Contains(w))
            {
                right.Add(PromptFeatures.Stem(w));
            }
        }

        left.Sort(StringComparer.Ordinal);
        right.Sort(StringComparer.Ordinal);
        return left.SequenceEqual(right, StringComparer.Ordinal);
    }

    /// <summary>Dice overlap of the prompts' content-word multisets, and how many occurrences are not shared.</summary>
    internal static (double Overlap, int Differing) ContentOverlap(PromptFeatures a, PromptFeatures b) =>
        ContentOverlap(a.ContentWords, a.ContentCounts, b.ContentWords, b.ContentCounts);

    /// <summary>Dice overlap of two content-word multisets, each as sorted distinct words and their counts, and how many
    /// occurrences are in one only.</summary>
    internal static (double Overlap, int Differing) ContentOverlap(string[] a, int[] aCounts, string[] b, int[] bCounts)
    {
        long total = 0;
        foreach (var n in aCounts)
        {
            total += n;
        }

        foreach (var n in bCounts)
        {
            total += n;
        }

        if (total == 0)
        {
            return (1.0, 0);
        }

        int i = 0, j = 0;
        long shared = 0;
        while (i < a.Length && j < b.Length)
        {
            var c = string.CompareOrdinal(a[i], b[j]);
            if (c == 0)
            {
                shared += Math.Min(aCounts[i], bCounts[j]);
                i++;
                j++;
            }
            else if (c < 0)
            {
                i++;
            }
            else
            {
                j++;
            }
        }

        return (2.0 * shared / total, (int)(total - (2 * shared)));
    }
}
