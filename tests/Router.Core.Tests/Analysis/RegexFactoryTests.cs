using System.Reflection;
using System.Text.RegularExpressions;
using Router.Core.Analysis;

namespace Router.Core.Tests.Analysis;

public sealed class RegexFactoryTests
{
    private const RegexOptions Options = RegexOptions.IgnoreCase | RegexOptions.CultureInvariant;

    private static readonly string[] Texts =
    [
        "",
        "kill the process on port 8080",
        "I want to sue my landlord over the deposit",
        "Chest pain and tingling in my left arm since this morning",
        "Summarise request 42 of the load test in one short sentence.",
        "ΑΒΓ 中文 αβγ — no keywords at all here",
        "mortgage at 5.9% vs 6.6% on a $420,000 loan",
    ];

    [Fact]
    public void The_no_op_alternative_changes_no_match()
    {
        var patterns = new[] { @"\b(sue|lawsuit|court)\b", @"^(hi|hello)\b|[?]$", @"\b\d+(\.\d+)?\s?%", @"chest (pain|tightness)" };
        foreach (var pattern in patterns)
        {
            var plain = new Regex(pattern, Options);
            var built = RegexFactory.Create(pattern, Options);
            Assert.True(built.Options.HasFlag(RegexOptions.NonBacktracking));
            foreach (var text in Texts.Append("hello there?").Append("what?\n"))
            {
                Assert.Equal(Matches(plain, text), Matches(built, text));
            }
        }
    }

    [Fact]
    public void A_union_matches_exactly_when_one_of_its_members_does()
    {
        var members = new[] { @"\b(sue|lawsuit|court)\b", @"chest (pain|tightness)", @"\b\d+(\.\d+)?\s?%", @"\bport \d+" }
            .Select(p => RegexFactory.Create(p, Options)).ToArray();

        var (unions, unionOf) = RegexFactory.CreateUnions(members, Options);

        Assert.Single(unions);
        Assert.All(unionOf, u => Assert.Equal(0, u));
        foreach (var text in Texts)
        {
            Assert.Equal(members.Any(m => m.IsMatch(text)), unions[0].IsMatch(text));
        }
    }

    [Fact]
    public void Members_too_large_for_one_automaton_are_split_over_several_unions()
    {
        // The risk rules together exceed the engine's automaton limit for one pattern (about 34,500 nodes against 10,000).
        var members = RiskAssessor.RulePatterns.Select(r => r.Pattern).ToArray();

        var (unions, unionOf) = RegexFactory.CreateUnions(members, Options);

        Assert.True(unions.Length > 1, "expected more than one union");
        Assert.Equal(members.Length, unionOf.Length);
        Assert.True(unionOf.SequenceEqual(unionOf.Order()), "members keep their order");
        foreach (var text in Texts)
        {
            for (var u = 0; u < unions.Length; u++)
            {
                var expected = members.Where((_, i) => unionOf[i] == u).Any(m => m.IsMatch(text));
                Assert.Equal(expected, unions[u].IsMatch(text));
            }
        }
    }

    [Fact]
    public void Each_union_is_as_large_as_the_engine_accepts()
    {
        // Groups are cut by bisection after the whole group is refused; each must still be the longest the engine takes:
        // one member more, and the engine refuses it.
        var members = RiskAssessor.RulePatterns.Select(r => r.Pattern).ToArray();

        var (unions, unionOf) = RegexFactory.CreateUnions(members, Options);

        for (var u = 0; u < unions.Length - 1; u++)
        {
            var grown = string.Join('|', members.Where((_, i) => unionOf[i] == u || i == Array.LastIndexOf(unionOf, u) + 1).Select(m => "(?:" + m + ")"));
            Assert.Throws<NotSupportedException>(() => new Regex(grown, Options | RegexOptions.NonBacktracking));
        }
    }

    [Fact]
    public void A_pattern_the_automaton_engine_cannot_take_stands_alone_between_full_groups()
    {
        var members = new[] { "alpha", "beta", @"gamma(?=\d)", "delta", "epsilon", "zeta" }.Select(p => RegexFactory.Create(p, Options)).ToArray();

        var (unions, unionOf) = RegexFactory.CreateUnions(members, Options, maxMembers: 2);

        Assert.Equal([0, 0, 1, 2, 2, 3], unionOf);
        Assert.Same(members[2], unions[1]);
        Assert.Same(members[5], unions[3]);
        foreach (var text in new[] { "alpha", "beta", "gamma1", "gamma", "delta", "epsilon", "zeta", "none" })
        {
            for (var u = 0; u < unions.Length; u++)
            {
                Assert.Equal(members.Where((_, i) => unionOf[i] == u).Any(m => m.IsMatch(text)), unions[u].IsMatch(text));
            }
        }
    }

    [Fact]
    public void Members_with_other_options_are_refused()
    {
        var members = new[] { RegexFactory.Create("abc", Options), RegexFactory.Create("def", RegexOptions.CultureInvariant) };

        Assert.Throws<ArgumentException>(() => RegexFactory.CreateUnions(members, Options));
    }

    [Theory]
    [InlineData("I want to sue my landlord over the deposit")]
    [InlineData("Chest pain and tingling in my left arm since this morning")]
    [InlineData("My card 4111 1111 1111 1111 was charged twice, can I dispute it?")]
    [InlineData("Summarise request 42 of the load test in one short sentence.")]
    [InlineData("Which is better for a first-time buyer: a 15-year or a 30-year mortgage?")]
    public void Risk_rules_behind_the_union_find_what_each_rule_finds_alone(string prompt)
    {
        // The rules' own patterns run one by one (none of these prompts holds a look-alike) name the rules the assessor reports.
        var risk = RiskAssessor.Assess(prompt);
        var expected = RiskAssessor.RulePatterns
            .Where(r => r.Pattern.IsMatch(prompt))
            .Select(r => r.Name)
            .ToHashSet();

        var found = risk.Evidence.Where(e => !e.Rule.StartsWith("pii.", StringComparison.Ordinal)).Select(e => e.Rule).ToHashSet();
        Assert.Equal(expected.Order(), found.Order());
    }

    [Theory]
    [InlineData("Translate this into French and summarise it in two sentences: 'The meeting moves to Tuesday.'")]
    [InlineData("Write a short poem about the sea, then explain the rhyme scheme.")]
    [InlineData("Why does my Python function return None when I call it from a class method?")]
    [InlineData("hello! how are you today?")]
    [InlineData("Classify each review as positive or negative and extract every product name as JSON.")]
    [InlineData("Summarise request 42 of the load test in one short sentence.")]
    public void Cues_behind_unions_match_as_each_cue_does_alone(string text)
    {
        Span<float> features = stackalloc float[TaskFeatures.Count];
        TaskFeatures.Compute(text, StructuralScanner.Scan(text, text.Length), "Latin", features);

        var i = 0;
        foreach (var (pattern, atStart) in TaskFeatures.CuePatterns)
        {
            var start = text.AsSpan().TrimStart(" \t\r\n¡¿\"'“‘«„「*#>-_([{").ToString();
            var expected = pattern.IsMatch(atStart ? start[..Math.Min(start.Length, 160)] : text) ? 1f : 0f;
            Assert.True(expected == features[i], $"cue {TaskFeatures.Names[i]}: expected {expected}, got {features[i]}");
            i++;
        }
    }

    [Fact]
    public void Every_dfa_pattern_of_the_analyzer_finds_what_the_backtracking_engine_finds()
    {
        // The length request, the identifier fields and the dosage rule ran backtracking (compiled) until measured
        // slower than the DFA; the DFA engine must give the same matches and the same named groups.
        string[] texts =
        [
            .. Texts,
            "Explain it in 200 words, then list 3-5 bullet points and keep the summary to one sentence.",
            "Write between 1,500 and 2,000 words: a single paragraph per section, two to three sentences each.",
            "a banana sentence, ten words max, about 2.5 pages, 300–400 characters, 50words",
            "Patient DOB 04/12/1980, MRN 5521, passport no. X1234; driver's license number on file; acct # 77",
            "My kid has a fever of 39.2 and weighs 14 kg: is 5 mg/kg of ibuprofen every 6 hours the right dose?",
            "What's the maximum daily dosage of acetaminophen? How many mg should I give a toddler?",
            "Routing number and account number are on the cheque; my tax id is pending.",
        ];
        var patterns = typeof(RiskAssessor).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(RiskAssessor).Namespace && t.Name == "Patterns")
            .SelectMany(t => t.GetFields(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public))
            .Where(f => f.FieldType == typeof(Regex))
            .Select(f => (Name: $"{f.DeclaringType!.DeclaringType!.Name}.{f.Name}", Regex: (Regex)f.GetValue(null)!))
            .Where(p => p.Regex.Options.HasFlag(RegexOptions.NonBacktracking))
            .ToArray();

        Assert.True(patterns.Length > 80, $"found only {patterns.Length} DFA patterns");
        Assert.Contains(patterns, p => p.Name == "OutputLengthEstimator.LengthRequest");
        foreach (var (name, dfa) in patterns)
        {
            var backtracking = new Regex(dfa.ToString(), dfa.Options & ~RegexOptions.NonBacktracking);
            foreach (var text in texts)
            {
                Assert.True(MatchesWithGroups(backtracking, text) == MatchesWithGroups(dfa, text), $"{name} on \"{text}\"");
            }
        }
    }

    private static string MatchesWithGroups(Regex regex, string text) =>
        string.Join(",", regex.Matches(text).Select(m => $"{m.Index}:{m.Length}"
            + string.Concat(regex.GetGroupNames().Where(g => !int.TryParse(g, out _)).Select(g => $" {g}={m.Groups[g].Value}"))));

    private static string Matches(Regex regex, string text) =>
        string.Join(",", regex.Matches(text).Select(m => $"{m.Index}:{m.Length}"));
}
