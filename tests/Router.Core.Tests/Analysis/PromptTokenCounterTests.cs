using Router.Core.Analysis;

namespace Router.Core.Tests.Analysis;

public sealed class PromptTokenCounterTests
{
    [Fact]
    public void The_routed_turn_is_counted_once_and_its_count_handed_back()
    {
        var counter = new PromptTokenCounter(256 * 1024);
        const string Turn = "Translate 'the meeting moves to Tuesday' into French and German.";
        var request = new AnalysisRequest([new AnalysisMessage("system", "Be brief."), new AnalysisMessage("user", Turn)]);

        var total = counter.Count(request, Turn, out var turnTokens);
        var absent = counter.Count(request, "not in the request", out var absentTokens);

        Assert.Equal(counter.CountText(Turn), turnTokens);
        Assert.True(turnTokens > 5);
        Assert.Equal(-1, absentTokens);
        Assert.Equal(counter.Count(request), total);
        Assert.Equal(total, absent);
    }

    [Fact]
    public void Long_runs_without_spaces_are_counted_in_slices_close_to_the_exact_count()
    {
        var tokenizer = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForEncoding("o200k_base");
        const string Prose = "The quick brown fox jumps over the lazy dog, then writes a limerick about it.";
        var letters = new string('a', 6_000);
        var cjk = string.Concat(Enumerable.Range(0, 6_000).Select(i => (char)(0x4E00 + ((i * 7919) % 20_000))));
        var base64 = Convert.ToBase64String(Enumerable.Range(0, 4_500).Select(i => (byte)(i * 31)).ToArray());

        // Text with ordinary words takes the tokenizer's own path, unchanged.
        Assert.Equal(tokenizer.CountTokens(Prose), BoundedTokenCount.Count(tokenizer, Prose));
        foreach (var run in new[] { letters, cjk, base64, Prose + " " + letters })
        {
            var exact = tokenizer.CountTokens(run);
            var bounded = BoundedTokenCount.Count(tokenizer, run);
            Assert.InRange(bounded, exact * 0.97, exact * 1.03 + 2);
        }
    }
}
