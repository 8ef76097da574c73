using System.Text.RegularExpressions;

namespace Router.Core.Analysis;

/// <summary>
/// Some of a list of patterns grouped into DFA unions (<see cref="RegexFactory.CreateUnions"/>): a union that does not
/// match a text rules out all its members in one pass. Which unions matched is memoised per text in caller-owned state.
/// </summary>
internal sealed class PatternUnions
{
    private readonly Regex[] _unions;
    private readonly int[] _unionOf;

    /// <param name="patterns">The patterns, indexed as the callers index them.</param>
    /// <param name="include">Which of them go into unions; the others are always run.</param>
    /// <param name="options">The options every included pattern has (engine flags aside).</param>
    /// <param name="maxMembers">At most this many patterns per union.</param>
    public PatternUnions(IReadOnlyList<Regex> patterns, Func<int, bool> include, RegexOptions options, int maxMembers = int.MaxValue)
    {
        var members = Enumerable.Range(0, patterns.Count).Where(include).ToArray();
        var (unions, unionOfMember) = RegexFactory.CreateUnions([.. members.Select(i => patterns[i])], options, maxMembers);
        _unions = unions;
        _unionOf = Enumerable.Repeat(-1, patterns.Count).ToArray();
        for (var m = 0; m < members.Length; m++)
        {
            _unionOf[members[m]] = unionOfMember[m];
        }
    }

    /// <summary>How many unions there are: the length of the state passed to <see cref="MayMatch(int, string, Span{sbyte})"/>.</summary>
    public int Count => _unions.Length;

    /// <summary>False when pattern <paramref name="index"/> cannot match <paramref name="text"/> because its union does
    /// not; true otherwise. <paramref name="state"/> has <see cref="Count"/> entries, all -1 before the first call for a text.</summary>
    public bool MayMatch(int index, string text, Span<sbyte> state) => MayMatch(index, text.AsSpan(), state);

    /// <inheritdoc cref="MayMatch(int, string, Span{sbyte})"/>
    public bool MayMatch(int index, ReadOnlySpan<char> text, Span<sbyte> state)
    {
        var union = _unionOf[index];
        if (union < 0)
        {
            return true;
        }

        if (state[union] < 0)
        {
            state[union] = _unions[union].IsMatch(text) ? (sbyte)1 : (sbyte)0;
        }

        return state[union] == 1;
    }
}
