using System.Text;
using Router.Core.Execution;

namespace Router.Core.Tests.Execution;

public sealed class CompletionReaderTests
{
    [Fact]
    public void Reads_usage_finish_reason_content_and_choice_count()
    {
        var ok = CompletionReader.TryRead(
            """{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"Paris"},"finish_reason":"stop"},{"index":1,"message":{"content":"Lyon"}}],"usage":{"prompt_tokens":12,"completion_tokens":1}}"""u8,
            out var summary);

        Assert.True(ok);
        Assert.Equal("Paris", summary.Content);
        Assert.Equal("stop", summary.FinishReason);
        Assert.Equal(2, summary.ChoiceCount);
        Assert.Equal(new TokenUsage(12, 1), summary.Usage);
    }

    [Theory]
    [InlineData("""{"choices":[{"message":{"content":"broken \ud800 half"}}]}""")]
    [InlineData("""{"choices":[{"message":{"content":"x"},"finish_reason":"\udfff"}]}""")]
    [InlineData("""{"choices":[{"message":{"content":"cut""")]
    public void A_provider_body_it_cannot_decode_reads_as_malformed_instead_of_throwing(string json)
    {
        Assert.False(CompletionReader.TryRead(Encoding.UTF8.GetBytes(json), out var summary));
        Assert.Equal(default, summary);
    }

    [Fact]
    public void Invalid_utf8_in_the_content_reads_as_malformed()
    {
        byte[] body = [.. """{"choices":[{"message":{"content":"bad """u8, 0xC3, 0x28, .. "\"}}]}"u8];

        Assert.False(CompletionReader.TryRead(body, out _));
    }
}
