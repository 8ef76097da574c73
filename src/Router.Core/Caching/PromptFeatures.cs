using System.Collections.Frozen;
using System.Text;

namespace Router.Core.Caching;

/// <summary>The guard-relevant facts of one prompt (numbers, entities, negations, code identifiers, words), extracted once.</summary>
/// <remarks>Extract a cached prompt's features when it is stored so a lookup only pays for the request's. Immutable and
/// safe to share between threads. Holds prompt text fragments: never log its contents.</remarks>
public sealed class PromptFeatures
{
    // Every word, its singular, and the pieces of dotted or snake_case words: O(1) mention checks.
    private readonly HashSet<string> _forms;

    // Every two adjacent words written together ("hugging face" → "huggingface"), built on the first lookup that needs it.
    private HashSet<string>? _joins;

    private PromptFeatures(string[] words, HashSet<string> forms, string[] numbers, Mention[] entities, string[] identifiers, int negations, (string[] Words, int[] Counts) content, string[] choices)
    {
        Words = words;
        _forms = forms;
        Numbers = numbers;
        Entities = entities;
        Identifiers = identifiers;
        Negations = negations;
        ContentWords = content.Words;
        ContentCounts = content.Counts;
        Choices = choices;
    }

    /// <summary>Length of the prompt in characters.</summary>
    internal int Length { get; private init; }

    /// <summary>Lower-cased word tokens in order, contractions expanded ("don't" → "do", "not"); identifiers kept whole.</summary>
    internal string[] Words { get; }

    /// <summary>Canonical numbers, digits and number words alike ("two" → "2"), in the order they appear, repeats kept:
    /// "17 minus 4" and "4 minus 17" are different questions, and so are "5 …, id 1995" and "1 …, id 1995".</summary>
    internal string[] Numbers { get; }

    /// <summary>Proper-noun-like mentions: capitalised tokens that do not open a sentence, acronyms, CamelCase.</summary>
    internal Mention[] Entities { get; }

    /// <summary>Distinct lower-cased code identifiers: backtick spans, snake_case, dotted.names, camelCase, calls, flags.</summary>
    internal string[] Identifiers { get; }

    /// <summary>How many negation cues the prompt has ("not", "no", "never", "without", "n't", …).</summary>
    internal int Negations { get; }

    /// <summary>Distinct stemmed content words (no function words), sorted ordinally; with <see cref="ContentCounts"/> a
    /// multiset.</summary>
    internal string[] ContentWords { get; }

    /// <summary>How many times each of <see cref="ContentWords"/> occurs.</summary>
    internal int[] ContentCounts { get; }

    /// <summary>Labelled answer choices in order ("A. hydrogen" → "a:hydrogen"); empty unless the prompt lists two or more.</summary>
    internal string[] Choices { get; }

    /// <summary>Extracts the features of <paramref name="text"/>; linear in its length.</summary>
    public static PromptFeatures Extract(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new Extractor(text).Run();
    }

    /// <summary>Whether this prompt mentions <paramref name="value"/> (lower-cased) as a word, as a piece of a dotted or
    /// snake_case word, or as two adjacent words written together ("hugging face" for "huggingface").</summary>
    internal bool Mentions(string value)
    {
        if (_forms.Contains(value) || _forms.GetAlternateLookup<ReadOnlySpan<char>>().Contains(StemSpan(value)))
        {
            return true;
        }

        return Words.Length >= 2 && (_joins ?? BuildJoins()).Contains(value);
    }

    // Linear in the prompt; safe to race: each thread builds the same set and one of them is kept.
    private HashSet<string> BuildJoins()
    {
        var joins = new HashSet<string>(StringComparer.Ordinal);
        var lookup = joins.GetAlternateLookup<ReadOnlySpan<char>>();
        var words = Words;
        char[]? rented = null;
        Span<char> buffer = stackalloc char[128];
        for (var k = 0; k + 1 < words.Length; k++)
        {
            var w = words[k];
            var next = words[k + 1];
            var length = w.Length + next.Length;
            if (length > buffer.Length)
            {
                if (rented is not null)
                {
                    System.Buffers.ArrayPool<char>.Shared.Return(rented);
                }

                rented = System.Buffers.ArrayPool<char>.Shared.Rent(length);
                buffer = rented;
            }

            w.AsSpan().CopyTo(buffer);
            next.AsSpan().CopyTo(buffer[w.Length..]);
            lookup.Add(buffer[..length]);
        }

        if (rented is not null)
        {
            System.Buffers.ArrayPool<char>.Shared.Return(rented);
        }

        return Interlocked.CompareExchange(ref _joins, joins, null) ?? joins;
    }

    private static void AddForms(HashSet<string> forms, string word)
    {
        // Span lookups: a repeated word or stem allocates nothing.
        forms.Add(word);
        var lookup = forms.GetAlternateLookup<ReadOnlySpan<char>>();
        lookup.Add(StemSpan(word));
        if (word.AsSpan().IndexOfAny('.', '_') < 0)
        {
            return;
        }

        var span = word.AsSpan();
        foreach (var dotted in span.Split('.'))
        {
            var segment = span[dotted];
            lookup.Add(segment);
            foreach (var part in segment.Split('_'))
            {
                lookup.Add(segment[part]);
            }
        }
    }

    /// <summary>A proper-noun-like token and the tokens around it, for joined-spelling lookups.</summary>
    internal readonly record struct Mention(string Value, string? Previous, string? Next);

    private sealed class Extractor(string text)
    {
        private readonly List<string> _words = new(Math.Max(8, text.Length / 5));
        private readonly List<int> _entityWordIndex = [];
        private readonly List<(char Label, int FirstWord, int EndWord)> _choices = [];

        // One string per distinct word, stem and number: a prompt of a million "1"s keeps one "1", not a million.
        private readonly HashSet<string> _pool = new(StringComparer.Ordinal);
        private List<string>? _numbers;
        private SortedSet<string>? _identifiers;
        private int _negations;

        public PromptFeatures Run()
        {
            var sentenceStart = true;
            var inBackticks = false;
            var choiceLabel = '\0';
            var choiceStart = 0;
            var i = 0;
            while (i < text.Length)
            {
                if (i == 0 || text[i - 1] == '\n')
                {
                    CloseChoice(ref choiceLabel, choiceStart);
                    if (TryReadChoiceLabel(ref i, out var label))
                    {
                        choiceLabel = label;
                        choiceStart = _words.Count;
                        sentenceStart = true;
                        continue;
                    }
                }

                var c = text[i];
                if (c == '`')
                {
                    inBackticks = !inBackticks;
                    i++;
                    continue;
                }

                if (!IsTokenChar(c))
                {
                    // Quotes open a title or an utterance whose first word is capitalised like a sentence's.
                    if (c is '.' or '!' or '?' or ':' or ';' or '\n' or '"' or '\u201C')
                    {
                        sentenceStart = true;
                    }

                    i++;
                    continue;
                }

                var start = i;
                while (i < text.Length && (IsTokenChar(text[i]) || IsJoiner(text, i)))
                {
                    i++;
                }

                var raw = text.AsSpan(start, i - start);
                var isCall = i < text.Length && text[i] == '(';
                var isFlag = start >= 2 && text[start - 1] == '-' && text[start - 2] == '-';

                // "No, …" opening a sentence answers a question; it does not negate what follows.
                var isInterjection = sentenceStart && i < text.Length && text[i] is ',' or '!';
                AddToken(raw, sentenceStart, inBackticks || isCall || isFlag, isInterjection);
                sentenceStart = false;
            }

            CloseChoice(ref choiceLabel, choiceStart);
            return Build();
        }

        // A line that opens with "A.", "b)", "(c)" or "3." lists an answer choice.
        private bool TryReadChoiceLabel(ref int i, out char label)
        {
            label = '\0';
            var j = i;
            while (j < text.Length && text[j] is ' ' or '\t')
            {
                j++;
            }

            if (j < text.Length && text[j] == '(')
            {
                j++;
            }

            if (j + 2 >= text.Length || !char.IsAsciiLetterOrDigit(text[j]) || text[j + 1] is not ('.' or ')') || text[j + 2] is not (' ' or '\t'))
            {
                return false;
            }

            label = char.ToLowerInvariant(text[j]);
            i = j + 2;
            return true;
        }

        private void CloseChoice(ref char label, int firstWord)
        {
            if (label != '\0')
            {
                _choices.Add((label, firstWord, _words.Count));
                label = '\0';
            }
        }

        private void AddToken(ReadOnlySpan<char> raw, bool sentenceStart, bool codeContext, bool isInterjection)
        {
            AddNumbers(raw);

            var lower = ToLower(raw, _pool);
            if (LooksLikeIdentifier(raw) || (codeContext && !IsAllDigits(raw)))
            {
                (_identifiers ??= new SortedSet<string>(StringComparer.Ordinal)).Add(lower);
            }

            var apostrophe = lower.IndexOf('\'', StringComparison.Ordinal);
            if (apostrophe > 0)
            {
                AddContraction(lower, apostrophe);
                return;
            }

            if (NumberWords.TryGetValue(lower, out var numberWord))
            {
                AddNumber(numberWord);
            }

            if (!isInterjection && NegationCues.Contains(lower))
            {
                _negations++;
            }

            // "whether … or not" and "not only … but" assert nothing negative.
            if ((lower == "only" && _words.Count > 0 && _words[^1] == "not") ||
                (lower == "not" && _words.Count > 0 && _words[^1] == "or"))
            {
                _negations--;
            }

            if (IsEntity(raw, sentenceStart))
            {
                _entityWordIndex.Add(_words.Count);
            }

            if (lower == "cannot")
            {
                _words.Add("can");
                _words.Add("not");
                return;
            }

            _words.Add(lower);
        }

        private void AddContraction(string lower, int apostrophe)
        {
            var stem = Intern(lower.AsSpan(0, apostrophe));
            var suffix = lower.AsSpan(apostrophe + 1);
            if (suffix is "t" && stem.EndsWith('n'))
            {
                _negations++;
                _words.Add(stem switch
                {
                    "can" or "ca" => "can",
                    "won" => "will",
                    "shan" => "shall",
                    _ => Intern(stem.AsSpan(0, stem.Length - 1)),
                });
                _words.Add("not");
                return;
            }

            _words.Add(stem);
            string? expanded = suffix switch
            {
                "re" => "are",
                "ve" => "have",
                "ll" => "will",
                "d" => "would",
                "m" => "am",
                _ => null,
            };

            // "'s" is dropped: it is "is", "has" or a possessive, and none of them changes what is asked.
            if (expanded is not null)
            {
                _words.Add(expanded);
            }
        }

        private void AddNumbers(ReadOnlySpan<char> raw)
        {
            var j = 0;
            while (j < raw.Length)
            {
                if (!char.IsAsciiDigit(raw[j]))
                {
                    j++;
                    continue;
                }

                var start = j;
                while (j < raw.Length && (char.IsAsciiDigit(raw[j]) ||
                       (raw[j] == '.' && j + 1 < raw.Length && char.IsAsciiDigit(raw[j + 1]))))
                {
                    j++;
                }

                AddNumber(CanonicalNumber(raw[start..j], _pool));
            }
        }

        private void AddNumber(string canonical) => (_numbers ??= []).Add(canonical);

        private PromptFeatures Build()
        {
            var words = _words.ToArray();
            var entities = new Mention[_entityWordIndex.Count];
            for (var k = 0; k < entities.Length; k++)
            {
                var at = _entityWordIndex[k];
                entities[k] = new Mention(
                    words[at],
                    at > 0 ? words[at - 1] : null,
                    at + 1 < words.Length ? words[at + 1] : null);
            }

            string[] choices = [];
            if (_choices.Count >= 2)
            {
                choices = new string[_choices.Count];
                for (var k = 0; k < choices.Length; k++)
                {
                    var (label, first, end) = _choices[k];
                    var body = SortedContentOf(words.AsSpan(first, end - first), _pool);
                    choices[k] = label + ":" + string.Join(' ', body);
                }
            }

            // Sized by the distinct strings seen, not twice the word count: repeats add nothing.
            var forms = new HashSet<string>(_pool.Count, StringComparer.Ordinal);
            foreach (var w in words)
            {
                AddForms(forms, w);
            }

            return new PromptFeatures(
                words,
                forms,
                _numbers is null ? [] : [.. _numbers],
                entities,
                _identifiers is null ? [] : [.. _identifiers],
                _negations,
                Distinct(SortedContentOf(words, _pool)),
                choices)
            {
                Length = text.Length,
            };
        }

        private string Intern(ReadOnlySpan<char> value) => Intern(value, _pool);

        private static string Intern(ReadOnlySpan<char> value, HashSet<string> pool)
        {
            var lookup = pool.GetAlternateLookup<ReadOnlySpan<char>>();
            if (lookup.TryGetValue(value, out var pooled))
            {
                return pooled;
            }

            var s = value.ToString();
            pool.Add(s);
            return s;
        }

        // Run-length: a prompt repeating a few words keeps a few entries, not one per occurrence.
        private static (string[] Words, int[] Counts) Distinct(List<string> sorted)
        {
            var distinct = new List<string>();
            var counts = new List<int>();
            foreach (var w in sorted)
            {
                if (distinct.Count > 0 && distinct[^1] == w)
                {
                    counts[^1]++;
                    continue;
                }

                distinct.Add(w);
                counts.Add(1);
            }

            return ([.. distinct], [.. counts]);
        }

        private static List<string> SortedContentOf(ReadOnlySpan<string> words, HashSet<string> pool)
        {
            var content = new List<string>(words.Length);
            foreach (var w in words)
            {
                if (!Stopwords.Contains(w))
                {
                    var stem = StemSpan(w);
                    content.Add(stem.Length == w.Length ? w : Intern(stem, pool));
                }
            }

            content.Sort(StringComparer.Ordinal);
            return content;
        }

        private static string ToLower(ReadOnlySpan<char> raw, HashSet<string> pool)
        {
            char[]? rented = null;
            var dest = raw.Length <= 256 ? stackalloc char[raw.Length] : (rented = System.Buffers.ArrayPool<char>.Shared.Rent(raw.Length)).AsSpan(0, raw.Length);
            for (var k = 0; k < raw.Length; k++)
            {
                var ch = raw[k];
                dest[k] = ch == '\u2019' ? '\'' : char.ToLowerInvariant(ch);
            }

            var lower = Intern(dest, pool);
            if (rented is not null)
            {
                System.Buffers.ArrayPool<char>.Shared.Return(rented);
            }

            return lower;
        }

        private static bool IsEntity(ReadOnlySpan<char> raw, bool sentenceStart)
        {
            if (!char.IsUpper(raw[0]))
            {
                // camelCase and iPhone-like tokens are names too.
                return HasInnerUpper(raw);
            }

            if (raw.Length == 1)
            {
                // "I" is no name; "Plan B" has one.
                return !sentenceStart && raw[0] != 'I';
            }

            if (HasInnerUpper(raw) || !raw.ContainsAnyInRange('a', 'z'))
            {
                return true;
            }

            // A capital that only opens a sentence says nothing: without a dictionary "Paris" and "Furthermore" look
            // alike there, and a swapped opening word is the near-duplicate guard's business.
            return !sentenceStart;
        }

        private static bool HasInnerUpper(ReadOnlySpan<char> raw)
        {
            for (var k = 1; k < raw.Length; k++)
            {
                if (char.IsUpper(raw[k]) && char.IsLetter(raw[k - 1]))
                {
                    return true;
                }
            }

            return false;
        }

        private static bool IsAllDigits(ReadOnlySpan<char> raw)
        {
            foreach (var ch in raw)
            {
                if (!char.IsAsciiDigit(ch) && ch != '.')
                {
                    return false;
                }
            }

            return true;
        }

        private static bool LooksLikeIdentifier(ReadOnlySpan<char> raw)
        {
            if (raw.Contains('_'))
            {
                return raw.Length > 1;
            }

            var dot = raw.IndexOf('.');
            if (dot > 0)
            {
                // "node.js", "os.path"; not "3.14", "e.g", "U.S".
                var left = raw[..dot];
                var right = raw[(dot + 1)..];
                var rightEnd = right.IndexOf('.');
                if (rightEnd >= 0)
                {
                    right = right[..rightEnd];
                }

                return left.Length >= 2 && right.Length >= 2 && !IsAllDigits(raw);
            }

            // camelCase (lower, then upper) marks code; PascalCase alone does not ("JavaScript" is a name).
            if (!char.IsLower(raw[0]))
            {
                return false;
            }

            for (var k = 1; k < raw.Length; k++)
            {
                if (char.IsUpper(raw[k]) && char.IsLower(raw[k - 1]))
                {
                    return true;
                }
            }

            return false;
        }

        private static string CanonicalNumber(ReadOnlySpan<char> digits, HashSet<string> pool)
        {
            var dot = digits.IndexOf('.');
            var integral = dot >= 0 ? digits[..dot] : digits;
            var fraction = dot >= 0 ? digits[dot..] : [];
            integral = integral.TrimStart('0');
            if (integral.IsEmpty)
            {
                integral = "0";
            }

            if (fraction.IsEmpty)
            {
                return Intern(integral, pool);
            }

            return Intern(string.Concat(integral, fraction), pool);
        }

        private static bool IsTokenChar(char c) => char.IsLetterOrDigit(c) || c == '_';

        // Joins "node.js", "3.14", "os.path" and "don't" into one token; a dot before a space ends a sentence instead.
        private static bool IsJoiner(string s, int i)
        {
            var c = s[i];
            if (c is not ('.' or '\'' or '\u2019'))
            {
                return false;
            }

            return i > 0 && i + 1 < s.Length && char.IsLetterOrDigit(s[i - 1]) && char.IsLetterOrDigit(s[i + 1]);
        }
    }

    internal static readonly FrozenSet<string> NegationCues = FrozenSet.Create(
        StringComparer.Ordinal,
        "not", "no", "never", "none", "nothing", "nobody", "nowhere", "neither", "nor", "cannot", "without");

    private static readonly FrozenDictionary<string, string> NumberWords = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        // "one" is left out: it is a pronoun far more often than a count ("which one", "one can").
        ["zero"] = "0", ["two"] = "2", ["three"] = "3", ["four"] = "4", ["five"] = "5", ["six"] = "6",
        ["seven"] = "7", ["eight"] = "8", ["nine"] = "9", ["ten"] = "10", ["eleven"] = "11", ["twelve"] = "12",
        ["thirteen"] = "13", ["fourteen"] = "14", ["fifteen"] = "15", ["sixteen"] = "16", ["seventeen"] = "17",
        ["eighteen"] = "18", ["nineteen"] = "19", ["twenty"] = "20", ["thirty"] = "30", ["forty"] = "40",
        ["fifty"] = "50", ["sixty"] = "60", ["seventy"] = "70", ["eighty"] = "80", ["ninety"] = "90",
        ["hundred"] = "100", ["thousand"] = "1000", ["million"] = "1000000", ["billion"] = "1000000000",
        ["hundreds"] = "100", ["thousands"] = "1000", ["millions"] = "1000000", ["billions"] = "1000000000",
        ["dozen"] = "12", ["dozens"] = "12", ["twice"] = "2", ["double"] = "2", ["triple"] = "3", ["half"] = "0.5",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Whether a lower-cased word is a number, in digits or in words.</summary>
    internal static bool IsNumber(string word) =>
        NumberWords.ContainsKey(word) || (word.Length > 0 && char.IsAsciiDigit(word[0]) && !word.AsSpan().ContainsAnyInRange('a', 'z'));

    /// <summary>English function words: they neither name nor ask anything on their own.</summary>
    internal static readonly FrozenSet<string> Stopwords = FrozenSet.Create(
        StringComparer.Ordinal,
        "a", "an", "the", "and", "or", "but", "if", "then", "else", "so", "as", "at", "by", "for", "from", "in", "into",
        "of", "on", "onto", "to", "with", "about", "over", "under", "up", "down", "out", "off", "than", "via", "per",
        "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "done", "doing", "have", "has",
        "had", "having", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "i", "me", "my",
        "mine", "we", "us", "our", "you", "your", "yours", "he", "him", "his", "she", "her", "it", "its", "they",
        "them", "their", "this", "that", "these", "those", "there", "here", "what", "which", "who", "whom", "whose",
        "when", "where", "why", "how", "all", "any", "some", "each", "every", "other", "another", "such", "also",
        "just", "only", "very", "too", "more", "most", "much", "many", "s", "t", "please", "yes", "ok", "okay",
        "hi", "hello", "hey", "thanks", "thank", "one", "way", "use", "using", "used", "get", "make", "let", "lets",
        "tell", "give", "show", "explain", "describe", "write", "want", "need", "like", "know", "find", "help",
        "possible", "able", "etc", "e", "g", "ie", "eg");

    /// <summary>Strips a plural "s" so "datasets" and "dataset" compare equal.</summary>
    internal static string Stem(string word) =>
        word.Length > 3 && word[^1] == 's' && word[^2] != 's' ? word[..^1] : word;

    private static ReadOnlySpan<char> StemSpan(ReadOnlySpan<char> word) =>
        word.Length > 3 && word[^1] == 's' && word[^2] != 's' ? word[..^1] : word;

    internal static string Describe(IEnumerable<string> values)
    {
        var sb = new StringBuilder();
        foreach (var v in values)
        {
            if (sb.Length > 0)
            {
                sb.Append(", ");
            }

            sb.Append(v);
            if (sb.Length > 80)
            {
                sb.Append(", …");
                break;
            }
        }

        return sb.ToString();
    }
}
