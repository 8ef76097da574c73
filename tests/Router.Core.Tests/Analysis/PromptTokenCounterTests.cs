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
}
