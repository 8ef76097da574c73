using System.Diagnostics;
using System.Text;
using Router.Core.Analysis;
using Router.Core.Caching;
using Router.Core.Tests.Analysis;
using Router.Core.Tests.Caching;
using Xunit.Abstractions;

namespace Router.Core.Tests.Audit;

/// <summary>
/// Inputs within the accepted body size (Router:MaxRequestBodyBytes, 4 MiB) whose cost in the router's own work grows
/// faster than their size. Each test measures an ordinary-prose baseline of the same size in the same process and
/// asserts a generous bound relative to it (30 times, plus 200 ms; the quadratic cases took 100 to 30,000 times). They run
/// alone, so other tests' work does not land in one side of a comparison.
/// </summary>
[Collection(nameof(HeapMeasuringCollection))]
public sealed class SuperlinearInputTests(ITestOutputHelper output)
{
    private const string ProseUnit = "the quick brown fox jumps over a lazy dog while we discuss the project plan and its budget for next year. ";

    /// <summary>A whitespace run is one pre-token for the o200k byte-pair encoder, whose merges cost the square of its
    /// length; BoundedTokenCount slices only runs of non-whitespace. 128K spaces took 3.4 s, 256K 14 s (4 MB body: 16 such messages,
    /// each counted exactly, is minutes of CPU).</summary>
    [Fact]
    public void Token_counting_a_long_whitespace_run_costs_about_what_prose_of_its_length_costs()
    {
        var analyzer = AnalyzerFactory.Create();
        analyzer.WarmUp();
        const int chars = 128 * 1024;
        var prose = AnalysisRequest.FromPrompt(Repeat(ProseUnit, chars));
        var blank = AnalysisRequest.FromPrompt("hi" + new string(' ', chars - 4) + "yo");

        var proseMs = BestOf(3, () => analyzer.Analyze(prose));
        var blankMs = BestOf(3, () => analyzer.Analyze(blank));
        output.WriteLine($"analysis of {chars} chars: prose {proseMs:F1} ms, spaces {blankMs:F1} ms ({blankMs / proseMs:F0}x)");

        Assert.True(blankMs <= (30 * proseMs) + 1000, $"spaces took {blankMs:F0} ms, prose {proseMs:F1} ms");
    }

    /// <summary>Every match of a rule with look-alike exceptions is checked against every look-alike found so far
    /// (RiskAssessor.Overlaps is a linear scan) and skipped without counting toward the evidence cap, so a text of N
    /// look-alikes ("cache eviction", "smart contracts") costs N²/2 comparisons. The risk text is the per-message scan
    /// windows joined, so 100 messages of 40K characters reach it with 4 MB: 18 s measured.</summary>
    [Fact]
    public void Risk_rules_over_many_look_alikes_cost_about_what_prose_costs()
    {
        const int chars = 2_000_000;
        var prose = Repeat(ProseUnit, chars);
        var lookAlikes = Repeat("cache eviction ", chars);
        RiskAssessor.Assess(prose[..4000]);
        RiskAssessor.Assess(lookAlikes[..4000]);

        var proseMs = BestOf(2, () => RiskAssessor.Assess(prose));
        var lookAlikeMs = BestOf(2, () => RiskAssessor.Assess(lookAlikes));
        output.WriteLine($"risk scan of {chars} chars: prose {proseMs:F1} ms, 'cache eviction' x{chars / 15} {lookAlikeMs:F1} ms ({lookAlikeMs / proseMs:F0}x)");

        Assert.True(lookAlikeMs <= (30 * proseMs) + 1000, $"look-alikes took {lookAlikeMs:F0} ms, prose {proseMs:F1} ms");
    }

    /// <summary>The semantic cache guard checks each entity of the request (repeats kept) against the candidate; one
    /// found only as two adjacent words written together ("FooBar" / "foo bar") costs a scan of all the candidate's words
    /// (PromptFeatures.Mentions). N entities against W words is N·W: 20,000 entities in 0.36 MB took 1.7 s.</summary>
    [Fact]
    public void The_semantic_guard_costs_about_what_it_costs_on_prose_when_names_are_joined()
    {
        var guard = new SemanticGuard(new SemanticGuardOptions());
        const int chars = 180_000;
        var proseFeatures = PromptFeatures.Extract(Repeat(ProseUnit, chars));
        var proseOther = PromptFeatures.Extract(Repeat(ProseUnit, chars) + " extra");
        var request = PromptFeatures.Extract("start " + Repeat("x FooBar ", chars));
        var candidate = PromptFeatures.Extract("start " + Repeat("x ", chars) + " foo bar");

        var proseMs = BestOf(3, () => guard.Check(proseFeatures, proseOther));
        var joinedMs = BestOf(2, () => guard.Check(request, candidate));
        output.WriteLine($"guard on {chars} chars: prose {proseMs:F2} ms, {request.Entities.Length} joined names {joinedMs:F1} ms ({joinedMs / Math.Max(proseMs, 0.01):F0}x)");

        Assert.True(joinedMs <= (30 * proseMs) + 1000, $"joined names took {joinedMs:F0} ms, prose {proseMs:F2} ms");
    }

    /// <summary>PromptFeatures keeps a string per word, its stem, a form set presized to twice the word count and a
    /// sorted copy of the content words; the cache lookup extracts the request's and each candidate's (up to 5 prompts of
    /// up to 4 MB). A prompt of one-character words holds about 50x its UTF-8 size.</summary>
    [Fact]
    public void Prompt_features_of_short_words_hold_a_bounded_multiple_of_the_prompt()
    {
        const int chars = 2_000_000;
        var prose = Repeat(ProseUnit, chars);
        var digits = Repeat("1 ", chars);

        var proseBytes = Retained(() => PromptFeatures.Extract(prose));
        var digitsBytes = Retained(() => PromptFeatures.Extract(digits));
        output.WriteLine($"features retained for {chars} chars ({chars / 1e6:F1} MB UTF-8): prose {proseBytes / 1e6:F1} MB, '1 ' {digitsBytes / 1e6:F1} MB");

        Assert.True(digitsBytes <= 20L * chars, $"'1 ' x{chars / 2} held {digitsBytes / 1e6:F0} MB for a {chars / 1e6:F1} MB prompt (prose {proseBytes / 1e6:F0} MB)");
    }

    private static double BestOf(int runs, Action action)
    {
        var best = double.MaxValue;
        for (var i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
        }

        return best;
    }

    private static long Retained(Func<object> create)
    {
        var before = GC.GetTotalMemory(true);
        var kept = create();
        var after = GC.GetTotalMemory(true);
        GC.KeepAlive(kept);
        return after - before;
    }

    private static string Repeat(string unit, int chars)
    {
        var sb = new StringBuilder(chars + unit.Length);
        while (sb.Length < chars)
        {
            sb.Append(unit);
        }

        return sb.ToString(0, chars);
    }
}
