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
    /// <summary>A backtracking, IL-compiled pattern: better for short patterns with bounded repetition or captures, where the DFA's state count explodes.</summary>
    public static Regex CreateCompiled(string pattern, RegexOptions options) => new(pattern, options | RegexOptions.Compiled);

    public static Regex Create(string pattern, RegexOptions options)
    {
        try
        {
            // Linear-time matching, so no timeout is needed.
            return new Regex(pattern, options | RegexOptions.NonBacktracking);
        }
        catch (NotSupportedException)
        {
            // Patterns with lookarounds (the personal-data detectors) land here; their first call pays the JIT.
            return new Regex(pattern, options | RegexOptions.Compiled);
        }
    }
}
