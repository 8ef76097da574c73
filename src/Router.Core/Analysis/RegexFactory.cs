using System.Text.RegularExpressions;

namespace Router.Core.Analysis;

/// <summary>
/// Builds the analyzer's patterns. Large keyword alternations run as DFAs (<see cref="RegexOptions.NonBacktracking"/>),
/// which match in one pass whatever the number of alternatives; patterns with lookarounds fall back to
/// <see cref="RegexOptions.Compiled"/>. Both are fully optimised from the first call: source-generated regexes are
/// large methods that tiered JIT keeps at tier 0 for seconds, which measured 5-10x slower in a warm process.
/// </summary>
internal static class RegexFactory
{
    // An empty character class never matches, so this alternative changes no match. It keeps the engine from searching
    // for the pattern's possible first letters before running the DFA: for a keyword alternation those letters occur
    // at nearly every word, and stopping there and restarting cost more than letting the DFA read every character
    // (measured warm on the labelled dev prompts: 2-3 µs → 0.7-0.9 µs per pattern per prompt, the whole analysis of the
    // 128-token benchmark prompt 210 → 160 µs).
    private const string NoOpAlternative = @"|[^\s\S]";

    /// <summary>A backtracking, IL-compiled pattern: faster only where the first character is rare (a quote, a colon, two capitals),
    /// so the engine's search for it skips most of the text. A pattern that can start at most letters or digits (the length
    /// request, the identifier fields, emails) measured 4-12x slower this way than as a DFA.</summary>
    public static Regex CreateCompiled(string pattern, RegexOptions options) => new(pattern, options | RegexOptions.Compiled);

    public static Regex Create(string pattern, RegexOptions options)
    {
        try
        {
            // Linear-time matching, so no timeout is needed.
            return new Regex("(?:" + pattern + ")" + NoOpAlternative, options | RegexOptions.NonBacktracking);
        }
        catch (NotSupportedException)
        {
            // Patterns with lookarounds (the personal-data detectors) land here; their first call pays the JIT.
            return new Regex(pattern, options | RegexOptions.Compiled);
        }
    }

    /// <summary>
    /// Groups <paramref name="patterns"/> (which share <paramref name="options"/>) into as few DFA unions as the engine
    /// accepts. A union matches a text exactly when one of its members does, so one pass over a text that matches none
    /// of them (most texts, for risk rules) replaces one pass per pattern. Returns, per pattern, the index of its union.
    /// <paramref name="maxMembers"/> keeps unions of often-matching patterns small, so that a match re-runs few members.
    /// </summary>
    public static (Regex[] Unions, int[] UnionOf) CreateUnions(IReadOnlyList<Regex> patterns, RegexOptions options, int maxMembers = int.MaxValue)
    {
        for (var i = 0; i < patterns.Count; i++)
        {
            var engineFree = patterns[i].Options & ~(RegexOptions.NonBacktracking | RegexOptions.Compiled);
            if (engineFree != options)
            {
                throw new ArgumentException($"Pattern {i} has options {engineFree}, not {options}.", nameof(patterns));
            }
        }

        var unions = new List<Regex>();
        var unionOf = new int[patterns.Count];
        var start = 0;
        while (start < patterns.Count)
        {
            // Try the whole group first: most are accepted as they stand, which costs one construction instead of one per
            // member. A group the engine refuses (its automaton size limit, or a lookaround) is cut to its longest accepted
            // prefix by bisection; a single pattern is its own union (a lookaround pattern is its own prefilter).
            var limit = start + Math.Min(maxMembers, patterns.Count - start);
            var end = start + 1;
            Regex accepted = patterns[start];
            if (limit - start > 1 && TryUnion(patterns, start, limit, options, out var whole))
            {
                accepted = whole!;
                end = limit;
            }
            else
            {
                var refused = limit;
                while (refused - end > 1)
                {
                    var middle = end + ((refused - end) / 2);
                    if (TryUnion(patterns, start, middle, options, out var union))
                    {
                        accepted = union!;
                        end = middle;
                    }
                    else
                    {
                        refused = middle;
                    }
                }
            }

            for (var i = start; i < end; i++)
            {
                unionOf[i] = unions.Count;
            }

            unions.Add(accepted);
            start = end;
        }

        return ([.. unions], unionOf);
    }

    private static bool TryUnion(IReadOnlyList<Regex> patterns, int start, int end, RegexOptions options, out Regex? union)
    {
        var parts = new List<string>(end - start);
        for (var i = start; i < end; i++)
        {
            parts.Add("(?:" + patterns[i] + ")");
        }

        try
        {
            union = new Regex(string.Join('|', parts), options | RegexOptions.NonBacktracking);
            return true;
        }
        catch (NotSupportedException)
        {
            union = null;
            return false;
        }
    }
}
