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

    [Theory]
    [InlineData("""{"choices":[{"index":0,"message":{"role":"assistant","content":"Paris.","refusal":null,"annotations":[]},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2}}""", false)]
    [InlineData("""{"choices":[{"delta":{"role":"assistant","content":"","refusal":null}}]}""", false)]
    [InlineData("""{"choices":[{"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}""", true)]
    [InlineData("""{"choices":[{"message":{"role":"assistant","content":"See [1].","annotations":[{"type":"url_citation","url_citation":{"url":"https://example.com"}}]},"finish_reason":"stop"}]}""", true)]
    [InlineData("""{"choices":[{"message":{"role":"assistant","content":"","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]}}]}""", true)]
    [InlineData("""{"choices":[{"delta":{"reasoning_content":"Let me think"}}]}""", true)]
    public void A_message_with_more_than_role_and_text_is_flagged_so_its_answer_is_not_cached(string json, bool extras)
    {
        Assert.True(CompletionReader.TryRead(Encoding.UTF8.GetBytes(json), out var summary));
        Assert.Equal(extras, summary.MessageExtras);
        Assert.Equal(1, summary.ChoiceCount);
    }

    [Fact]
    public void Reading_past_a_non_empty_array_in_the_message_keeps_the_rest_of_the_completion()
    {
        var json = """{"choices":[{"message":{"annotations":[{"a":[1,2]},3,[4]],"content":"kept"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":1}}""";

        Assert.True(CompletionReader.TryRead(Encoding.UTF8.GetBytes(json), out var summary));
        Assert.Equal("kept", summary.Content);
        Assert.Equal("stop", summary.FinishReason);
        Assert.Equal(7, summary.Usage!.Value.PromptTokens);
        Assert.True(summary.MessageExtras);
    }

    [Fact]
    public void Generated_text_outside_content_is_read_for_billing_without_ids_or_types()
    {
        var json = """
            {"choices":[
              {"index":0,"message":{"role":"assistant","content":"Calling.","refusal":null,"reasoning_content":"think first",
                "tool_calls":[{"id":"call_abc","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"paris\"}"}}]},"finish_reason":"tool_calls"},
              {"index":1,"message":{"role":"assistant","content":"Second.","reasoning_details":[{"type":"reasoning.text","text":" more thought"}],
                "function_call":{"name":"legacy","arguments":"{}"}}}]}
            """;

        Assert.True(CompletionReader.TryRead(System.Text.Encoding.UTF8.GetBytes(json), out var summary));
        Assert.Equal("Calling.", summary.Content);
        Assert.Equal("tool_calls", summary.FinishReason);
        Assert.Equal(2, summary.ChoiceCount);
        Assert.True(summary.MessageExtras);
        Assert.Equal("Second.", summary.OtherContent);
        Assert.Equal("""think firstlookup{"q":"paris"} more thoughtlegacy{}""", summary.ExtraText);
        Assert.Equal("""Calling.Second.think firstlookup{"q":"paris"} more thoughtlegacy{}""", summary.BillableText);
    }

    [Fact]
    public void A_text_only_answer_has_no_extra_text()
    {
        var json = """{"choices":[{"message":{"role":"assistant","content":"Paris.","refusal":null,"tool_calls":[]}}]}""";

        Assert.True(CompletionReader.TryRead(System.Text.Encoding.UTF8.GetBytes(json), out var summary));
        Assert.False(summary.MessageExtras);
        Assert.Null(summary.ExtraText);
        Assert.Equal("Paris.", summary.BillableText);
    }

    [Theory]
    [InlineData("""{"choices":[{"message":{"content":"Hi"}}]}<html><body>502 Bad Gateway</body></html>""")]
    [InlineData("""{"choices":[{"message":{"content":"Hi"}}]}{"choices":[{"message":{"content":"again"}}]}""")]
    [InlineData("""{"choices":[{"message":{"content":"Hi"}}]} x""")]
    public void A_completion_followed_by_more_than_whitespace_reads_as_malformed(string json)
    {
        Assert.False(CompletionReader.TryRead(Encoding.UTF8.GetBytes(json), out _));
        Assert.False(CompletionReader.IsOneJsonValue(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void Whitespace_around_a_completion_is_no_trailing_content()
    {
        var json = " \r\n{\"choices\":[{\"message\":{\"content\":\"Hi\"}}]}\r\n\t \n";

        Assert.True(CompletionReader.TryRead(Encoding.UTF8.GetBytes(json), out var summary));
        Assert.Equal("Hi", summary.Content);
        Assert.True(CompletionReader.IsOneJsonValue(Encoding.UTF8.GetBytes(json)));
    }
}
