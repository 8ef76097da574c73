using System.Collections.Frozen;

namespace Router.Core.Analysis;

/// <summary>
/// Structural measurements of a prompt that make it harder for a model: size, quantities and reasoning steps,
/// math notation, instructions and constraints, code, multiple parts, specialist vocabulary. Computed in one pass
/// over the text without allocating.
/// </summary>
public readonly record struct PromptSignals
{
    /// <summary>Words (runs of letters or digits).</summary>
    public int Words { get; init; }

    /// <summary>Sentences (terminators followed by space or end, plus non-empty lines).</summary>
    public int Sentences { get; init; }

    /// <summary>Numeric literals and number words ("twice", "third", "dozen").</summary>
    public int Quantities { get; init; }

    /// <summary>Sentences that state a quantity or a relation between quantities: a proxy for reasoning steps.</summary>
    public int QuantitativeSentences { get; init; }

    /// <summary>Relation words between quantities ("per", "each", "times", "more than", "remaining").</summary>
    public int Relations { get; init; }

    /// <summary>Operators, equations, exponents, LaTeX commands and math vocabulary.</summary>
    public int MathNotation { get; init; }

    /// <summary>Imperatives and constraints ("must", "at least", "in JSON", "do not", "exactly").</summary>
    public int Constraints { get; init; }

    /// <summary>Code fences, code keywords and code punctuation.</summary>
    public int Code { get; init; }

    /// <summary>Extra questions, enumerated items and numbered statements beyond the first part.</summary>
    public int Parts { get; init; }

    /// <summary>Verbs that ask for multi-step reasoning ("prove", "derive", "design", "optimize", "why").</summary>
    public int ReasoningCues { get; init; }

    /// <summary>Long or specialist words (10+ letters, technical suffixes, acronyms).</summary>
    public int DomainTerms { get; init; }

    /// <summary>Negations and exclusions that flip the question ("not", "except", "false").</summary>
    public int Negations { get; init; }

    /// <summary>Answer options of a multiple-choice question ("A.", "B)").</summary>
    public int Choices { get; init; }

    /// <summary>Answer options that are a number (with at most a short unit): a calculation item, not recall.</summary>
    public int NumericChoices { get; init; }

    /// <summary>Extracts the signals from prompt text.</summary>
    public static PromptSignals Extract(ReadOnlySpan<char> text) => PromptSignalScanner.Scan(text);
}

/// <summary>Single pass tokenizer behind <see cref="PromptSignals.Extract"/>.</summary>
internal static class PromptSignalScanner
{
    private const int MaxWordLength = 32;

    // An option with more letters than this is a phrase, not a number with a unit ("12 m/s", "$4.50 per hour").
    private const int MaxUnitLetters = 8;

    [Flags]
    private enum WordKind : ushort
    {
        None = 0,
        Quantity = 1,
        Relation = 2,
        Math = 4,
        Constraint = 8,
        Code = 16,
        Reasoning = 32,
        Negation = 64,
        Domain = 128,
    }

    private static readonly FrozenDictionary<string, WordKind> Vocabulary = BuildVocabulary();
    private static readonly FrozenDictionary<string, WordKind>.AlternateLookup<ReadOnlySpan<char>> Lookup =
        Vocabulary.GetAlternateLookup<ReadOnlySpan<char>>();

    public static PromptSignals Scan(ReadOnlySpan<char> text)
    {
        int words = 0, sentences = 0, quantities = 0, quantSentences = 0, relations = 0, math = 0, constraints = 0;
        int code = 0, parts = 0, reasoning = 0, domain = 0, negations = 0, choices = 0, questions = 0, numericChoices = 0;
        int choiceLetters = 0, choiceDigits = 0;
        var inChoice = false;
        var sentenceHasQuantity = false;
        var sentenceHasContent = false;
        var lineStart = true;
        Span<char> lower = stackalloc char[MaxWordLength];

        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsLetter(c))
            {
                var start = i;
                var upper = 0;
                while (i < text.Length && (char.IsLetter(text[i]) || text[i] == '\'' || text[i] == '_'))
                {
                    if (char.IsUpper(text[i]))
                    {
                        upper++;
                    }

                    i++;
                }

                var word = text[start..i];
                words++;
                sentenceHasContent = true;

                // "A." / "B)" at the start of a line is an answer option or a lettered sub-question.
                if (lineStart && word.Length == 1 && upper == 1 && i < text.Length && (text[i] == '.' || text[i] == ')'))
                {
                    choices++;
                    inChoice = true;
                    choiceLetters = choiceDigits = 0;
                }
                else if (inChoice)
                {
                    choiceLetters += word.Length;
                }

                lineStart = false;
                if (word.Length >= 2 && upper == word.Length && word.Length <= 6)
                {
                    domain++;
                }

                var kind = WordKind.None;
                if (word.Length <= MaxWordLength)
                {
                    var n = word.ToLowerInvariant(lower);
                    var w = lower[..n];
                    if (w.EndsWith("'s"))
                    {
                        w = w[..^2];
                    }

                    Lookup.TryGetValue(w, out kind);
                    if (kind == WordKind.None && w.Length >= 10 && HasSpecialistSuffix(w))
                    {
                        kind = WordKind.Domain;
                    }
                }

                if (kind != WordKind.None)
                {
                    if ((kind & WordKind.Quantity) != 0)
                    {
                        quantities++;
                        sentenceHasQuantity = true;
                    }

                    if ((kind & WordKind.Relation) != 0)
                    {
                        relations++;
                        sentenceHasQuantity = true;
                    }

                    if ((kind & WordKind.Math) != 0)
                    {
                        math++;
                    }

                    if ((kind & WordKind.Constraint) != 0)
                    {
                        constraints++;
                    }

                    if ((kind & WordKind.Code) != 0)
                    {
                        code++;
                    }

                    if ((kind & WordKind.Reasoning) != 0)
                    {
                        reasoning++;
                    }

                    if ((kind & WordKind.Negation) != 0)
                    {
                        negations++;
                    }

                    if ((kind & WordKind.Domain) != 0)
                    {
                        domain++;
                    }
                }
                else if (word.Length >= 12)
                {
                    domain++;
                }

                continue;
            }

            if (char.IsDigit(c))
            {
                var start = i;
                while (i < text.Length && (char.IsDigit(text[i]) || ((text[i] == '.' || text[i] == ',') && i + 1 < text.Length && char.IsDigit(text[i + 1]))))
                {
                    i++;
                }

                if (inChoice)
                {
                    choiceDigits++;
                }

                // "1." or "2)" at the start of a line numbers a part, not a quantity.
                if (lineStart && i - start <= 2 && i < text.Length && (text[i] == '.' || text[i] == ')') && (i + 1 >= text.Length || text[i + 1] == ' '))
                {
                    parts++;
                }
                else
                {
                    quantities++;
                    sentenceHasQuantity = true;
                }

                words++;
                sentenceHasContent = true;
                lineStart = false;
                continue;
            }

            switch (c)
            {
                case '\n':
                    if (inChoice && choiceDigits > 0 && choiceLetters <= MaxUnitLetters)
                    {
                        numericChoices++;
                    }

                    inChoice = false;
                    if (sentenceHasContent)
                    {
                        sentences++;
                        if (sentenceHasQuantity)
                        {
                            quantSentences++;
                        }
                    }

                    sentenceHasContent = sentenceHasQuantity = false;
                    lineStart = true;
                    i++;
                    continue;
                case '.' or '!' or '?' or ';':
                    if (c == '?')
                    {
                        questions++;
                    }

                    if (sentenceHasContent && (i + 1 >= text.Length || char.IsWhiteSpace(text[i + 1])))
                    {
                        sentences++;
                        if (sentenceHasQuantity)
                        {
                            quantSentences++;
                        }

                        sentenceHasContent = sentenceHasQuantity = false;
                    }

                    break;
                case '=' or '^' or '√' or '∑' or '∫' or '≤' or '≥' or '≠' or '±' or '×' or '÷' or '∞' or 'π':
                    math++;
                    break;
                case '+' or '*' or '/' or '<' or '>':
                    if (i > 0 && i + 1 < text.Length && (IsOperand(text[i - 1]) || IsOperand(text[i + 1])))
                    {
                        math++;
                    }

                    break;
                case '\\':
                    math++;
                    break;
                case '$' or '%':
                    quantities++;
                    sentenceHasQuantity = true;
                    break;
                case '{' or '}' or '`':
                    code++;
                    break;
                case '|':
                    parts++;
                    break;
                case '-' or '*' when lineStart:
                    parts++;
                    break;
            }

            if (!char.IsWhiteSpace(c))
            {
                lineStart = false;
            }

            i++;
        }

        if (sentenceHasContent)
        {
            sentences++;
            if (sentenceHasQuantity)
            {
                quantSentences++;
            }
        }

        if (inChoice && choiceDigits > 0 && choiceLetters <= MaxUnitLetters)
        {
            numericChoices++;
        }

        return new PromptSignals
        {
            Words = words,
            Sentences = sentences,
            Quantities = quantities,
            QuantitativeSentences = quantSentences,
            Relations = relations,
            MathNotation = math,
            Constraints = constraints,
            Code = code,
            Parts = parts + Math.Max(0, questions - 1),
            ReasoningCues = reasoning,
            DomainTerms = domain,
            Negations = negations,
            Choices = choices,
            NumericChoices = numericChoices,
        };
    }

    private static bool IsOperand(char c) => char.IsDigit(c) || c == ')' || c == '(' || (c is >= 'a' and <= 'z' && c is 'x' or 'y' or 'n' or 'a' or 'b' or 'k');

    private static bool HasSpecialistSuffix(ReadOnlySpan<char> w) =>
        w.EndsWith("ology") || w.EndsWith("itis") || w.EndsWith("ectomy") || w.EndsWith("osis") || w.EndsWith("ization")
        || w.EndsWith("isation") || w.EndsWith("ometry") || w.EndsWith("ivity") || w.EndsWith("genesis") || w.EndsWith("ism");

    private static FrozenDictionary<string, WordKind> BuildVocabulary()
    {
        var v = new Dictionary<string, WordKind>(StringComparer.Ordinal);
        void Add(WordKind kind, string words)
        {
            foreach (var w in words.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                v[w] = v.GetValueOrDefault(w) | kind;
            }
        }

        Add(WordKind.Quantity, "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty hundred thousand million billion twice thrice double triple half halves third thirds quarter quarters dozen dozens percent percentage fifth fourth");
        Add(WordKind.Relation, "per each every times more less fewer than remaining remainder rest left total altogether combined average ratio rate sum difference product increase increased decrease decreased discount profit cost costs spent spends earns earned shares split twice increases decreases");
        Add(WordKind.Math, "equation equations solve integral derivative matrix matrices polynomial theorem lemma prove proof probability variance function functions vector vectors eigenvalue eigenvalues modulo prime primes integer integers sqrt log logarithm sin cos tan limit converge series subgroup group field ring isomorphic homomorphism factor factorial permutation combinatorics inequality geometric arithmetic algebra calculus");
        Add(WordKind.Constraint, "must should exactly least most only without avoid ensure include including format json yaml csv table limit words sentences bullet bullets concise brief don't not never always strictly require required requirements constraint constraints specify step steps");
        Add(WordKind.Code, "code function class def return import public private static void int string var let const async await python javascript typescript java rust golang sql select from where join regex api http json bug error exception stack compile runtime algorithm implement implementation refactor debug unittest script repository");
        Add(WordKind.Reasoning, "prove derive why explain analyze analyse compare contrast evaluate design optimize optimise justify tradeoff tradeoffs trade implications critique assess infer deduce reason reasoning plan strategy architecture estimate calculate determine");
        Add(WordKind.Negation, "not except false incorrect never neither nor least cannot isn't aren't doesn't wrong");
        Add(WordKind.Domain, "statute plaintiff defendant tort jurisdiction appellate contract liability negligence enzyme protein mitochondria neuron diagnosis syndrome patient dosage clinical pathology genome allele chromosome molecule compound catalyst entropy thermodynamics quantum momentum velocity acceleration voltage circuit semiconductor elasticity macroeconomic monetary fiscal inflation equilibrium marginal elasticity utilitarian deontological epistemology ontology syllogism fallacy premise conclusion valid");
        return v.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
