using System.Text;
using Router.Core.Chat;

namespace Router.Core.Tests.Chat;

public sealed class ChatRequestParserTests
{
    private static bool Parse(string json, out ChatRequest request, out RouterError error) =>
        ChatRequestParser.TryParse(Encoding.UTF8.GetBytes(json), out request, out error);

    [Fact]
    public void Reads_model_messages_and_options()
    {
        var ok = Parse("""
            {"model":"auto","stream":true,"stream_options":{"include_usage":true},"max_tokens":50,"user":"u1",
             "metadata":{"team":"search"},"tools":[{"type":"function","function":{"name":"f"}}],
             "response_format":{"type":"json_object"},"router":{"quality":0.3},
             "messages":[{"role":"system","content":"be brief"},
                         {"role":"user","content":[{"type":"text","text":"describe"},{"type":"image_url","image_url":{"url":"data:x"}}]}]}
            """, out var request, out _);

        Assert.True(ok);
        Assert.Equal("auto", request.Model);
        Assert.True(request.Stream);
        Assert.True(request.IncludeUsage);
        Assert.Equal(50, request.MaxTokens);
        Assert.True(request.HasTools);
        Assert.Equal("json_object", request.ResponseFormatType);
        Assert.Equal("u1", request.User);
        Assert.Equal("search", request.Metadata["team"]);
        Assert.Equal(0.3, request.RouterOptions.Quality);
        Assert.Equal(2, request.Messages.Count);
        Assert.Equal("describe", request.LastUserText);
        Assert.Equal(1, request.Messages[1].ImageCount);
        Assert.Contains("tools=", request.AnswerShapingJson, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", null, "empty")]
    [InlineData("   ", null, "empty")]
    [InlineData("{", null, "not valid JSON")]
    [InlineData("{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]} trailing", null, "not valid JSON")]
    [InlineData("[1,2]", null, "must be a JSON object")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "model", "provide a model")]
    [InlineData("{\"model\":42,\"messages\":[]}", "model", "must be a string")]
    [InlineData("{\"model\":\"auto\"}", "messages", "provide 'messages'")]
    [InlineData("{\"model\":\"auto\",\"messages\":[]}", "messages", "at least one")]
    [InlineData("{\"model\":\"auto\",\"messages\":\"hi\"}", "messages", "must be an array")]
    [InlineData("{\"model\":\"auto\",\"messages\":[\"hi\"]}", "messages[0]", "must be an object")]
    [InlineData("{\"model\":\"auto\",\"messages\":[{\"content\":\"hi\"}]}", "messages[0].role", "missing 'role'")]
    [InlineData("{\"model\":\"auto\",\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}", "messages[0].role", "not valid")]
    [InlineData("{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":5}]}", "messages[0].content", "string or an array")]
    [InlineData("{\"model\":\"auto\",\"stream\":\"yes\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "stream", "boolean")]
    [InlineData("{\"model\":\"auto\",\"max_tokens\":-1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "max_tokens", "positive integer")]
    [InlineData("{\"model\":\"auto\",\"temperature\":\"hot\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "temperature", "number")]
    [InlineData("{\"model\":\"auto\",\"router\":{\"quality\":3},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "router.quality", "between 0 and 1")]
    [InlineData("{\"model\":\"auto\",\"router\":{\"qualty\":0.9},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "router.qualty", "not a router option")]
    [InlineData("{\"model\":\"gpt-4.1\",\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "model", "more than once")]
    [InlineData("{\"model\":\"auto\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":100000}", "max_tokens", "more than once")]
    [InlineData("{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"m\\u0065ssages\":[{\"role\":\"user\",\"content\":\"other\"}]}", "messages", "more than once")]
    [InlineData("{\"model\":\"auto\",\"top_k\":1,\"top_k\":40,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "top_k", "more than once")]
    [InlineData("{\"model\":\"auto\",\"stream\":true,\"stream_options\":{\"include_usage\":false,\"include_usage\":false},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "stream_options.include_usage", "more than once")]
    [InlineData("{\"model\":\"auto\",\"stream\":true,\"stream_options\":{\"include_usage\":true,\"include\\u005fusage\":null},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "stream_options.include_usage", "more than once")]
    [InlineData("{\"model\":\"auto\",\"service_tier\":\"priority\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "service_tier", "catalog's prices")]
    [InlineData("{\"model\":\"auto\",\"service_tier\":\"scale\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "service_tier", "catalog's prices")]
    [InlineData("{\"model\":\"auto\",\"service_tier\":1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "service_tier", "must be a string")]
    [InlineData("{\"model\":\"auto\",\"modalities\":[\"text\",\"audio\"],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "modalities", "per-token prices")]
    [InlineData("{\"model\":\"auto\",\"modalities\":\"audio\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "modalities", "must be an array")]
    [InlineData("{\"model\":\"auto\",\"audio\":{\"voice\":\"alloy\",\"format\":\"wav\"},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "audio", "per-token prices")]
    [InlineData("{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"AAAA\",\"format\":\"wav\"}}]}]}", "messages", "per-token prices")]
    [InlineData("{\"model\":\"auto\",\"messages\":[{\"role\":\"assistant\",\"audio\":{\"id\":\"audio_1\"}},{\"role\":\"user\",\"content\":\"again\"}]}", "messages", "per-token prices")]
    [InlineData("{\"model\":\"auto\",\"web_search_options\":{},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "web_search_options", "per-token prices")]
    [InlineData("{\"model\":\"auto\",\"data_sources\":[{\"type\":\"azure_search\"}],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "data_sources", "identity")]
    public void Rejects_bad_input_with_a_400_naming_the_field(string json, string? param, string messageFragment)
    {
        var ok = Parse(json, out _, out var error);

        Assert.False(ok);
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal(param, error.Param);
        Assert.Contains(messageFragment, error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("\"stream_options\":{\"include_usage\":true}")]
    [InlineData("\"stream\":false,\"stream_options\":{}")]
    [InlineData("\"stream_options\":{\"include_usage\":false},\"stream\":false")]
    [InlineData("\"stream\":null,\"stream_options\":{\"include_obfuscation\":false}")]
    public void Stream_options_on_a_request_that_does_not_stream_is_refused_as_openai_refuses_it(string fields)
    {
        var ok = Parse($$"""{"model":"auto",{{fields}},"messages":[{"role":"user","content":"hi"}]}""", out _, out var error);

        Assert.False(ok);
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal("stream_options", error.Param);
        Assert.Equal("invalid_value", error.Code);
        Assert.Equal("The 'stream_options' parameter is only allowed when 'stream' is enabled.", error.Message);
    }

    [Theory]
    [InlineData("\"stream_options\":null")]
    [InlineData("\"stream\":false,\"stream_options\":null")]
    [InlineData("\"stream\":true,\"stream_options\":null")]
    [InlineData("\"stream\":true,\"stream_options\":{}")]
    [InlineData("\"stream\":true,\"stream_options\":{\"include_usage\":null}")]
    [InlineData("\"stream_options\":{\"include_usage\":false},\"stream\":true")]
    public void Stream_options_that_are_null_or_sent_with_a_stream_are_accepted(string fields)
    {
        var ok = Parse($$"""{"model":"auto",{{fields}},"messages":[{"role":"user","content":"hi"}]}""", out _, out var error);

        Assert.True(ok, error?.Message);
    }

    [Theory]
    [InlineData("{\"include_usage\":\"yes\"}", "stream_options.include_usage", "must be a boolean")]
    [InlineData("{\"include_usage\":1}", "stream_options.include_usage", "must be a boolean")]
    [InlineData("{\"include_usage\":{}}", "stream_options.include_usage", "must be a boolean")]
    [InlineData("{\"include_obfuscation\":false,\"include_usage\":[true]}", "stream_options.include_usage", "must be a boolean")]
    [InlineData("\"include_usage\"", "stream_options", "must be an object")]
    [InlineData("1", "stream_options", "must be an object")]
    [InlineData("[{\"include_usage\":true}]", "stream_options", "must be an object")]
    [InlineData("true", "stream_options", "must be an object")]
    public void Stream_options_of_the_wrong_type_are_refused_naming_the_field(string streamOptions, string param, string messageFragment)
    {
        var ok = Parse($$"""{"model":"auto","stream":true,"stream_options":{{streamOptions}},"messages":[{"role":"user","content":"hi"}]}""", out _, out var error);

        Assert.False(ok);
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal(param, error.Param);
        Assert.Equal("invalid_type", error.Code);
        Assert.Contains(messageFragment, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"modalities\":[\"text\"]")]
    [InlineData("\"modalities\":null")]
    [InlineData("\"audio\":null")]
    [InlineData("\"web_search_options\":null")]
    [InlineData("\"data_sources\":null")]
    public void Text_only_output_and_null_unpriced_features_pass_through(string field)
    {
        var ok = Parse($$"""{"model":"auto",{{field}},"messages":[{"role":"user","content":"hi"}]}""", out _, out var error);

        Assert.True(ok, error?.Message);
    }

    [Fact]
    public void An_unpriced_feature_is_refused_as_unsupported()
    {
        Parse("""{"model":"auto","web_search_options":{},"messages":[{"role":"user","content":"hi"}]}""", out _, out var error);

        Assert.Equal(400, error.Status);
        Assert.Equal("unsupported_value", error.Code);
    }

    [Theory]
    [InlineData("\"max_tokens\":100,\"max_completion_tokens\":4000", 4000)]
    [InlineData("\"max_tokens\":4000,\"max_completion_tokens\":100", 4000)]
    [InlineData("\"max_tokens\":300", 300)]
    [InlineData("\"max_completion_tokens\":200", 200)]
    public void Max_tokens_is_the_larger_of_the_two_limits_sent(string fields, int expected)
    {
        Assert.True(Parse($$"""{"model":"auto",{{fields}},"messages":[{"role":"user","content":"hi"}]}""", out var request, out _));

        Assert.Equal(expected, request.MaxTokens);
    }

    [Fact]
    public void Counts_the_images_that_ask_for_low_detail()
    {
        Assert.True(Parse("""
            {"model":"auto","messages":[{"role":"user","content":[
              {"type":"image_url","image_url":{"url":"data:a","detail":"low"}},
              {"image_url":{"detail":"low","url":"data:b"},"type":"image_url"},
              {"type":"image_url","image_url":{"url":"data:c","detail":"high"}},
              {"type":"image_url","image_url":{"url":"data:d"}},
              {"type":"input_image","image_url":"data:e","detail":"low"}]}]}
            """, out var request, out _));

        Assert.Equal(5, request.Messages[0].ImageCount);
        Assert.Equal(3, request.Messages[0].LowDetailImageCount);
    }

    [Fact]
    public void A_refusal_part_is_text_the_message_holds_and_only_images_and_files_count_as_non_text()
    {
        // An earlier answer the model refused is text it wrote: read as a part the router cannot carry, it kept the
        // conversation from being audited as if it had an image.
        Assert.True(Parse("""
            {"model":"auto","messages":[
              {"role":"user","content":[{"type":"text","text":"Pick my lock."}]},
              {"role":"assistant","content":[{"type":"refusal","refusal":"I can't help with that."}]},
              {"role":"user","content":[{"type":"text","text":"Then describe this."},{"type":"image_url","image_url":{"url":"data:a"}},
                {"type":"file","file":{"filename":"a.pdf","file_data":"data:b"}}]}]}
            """, out var request, out var error), error?.Message);

        Assert.Equal(("I can't help with that.", 0), (request.Messages[1].Text, request.Messages[1].NonTextPartCount));
        Assert.Equal(("Then describe this.", 2), (request.Messages[2].Text, request.Messages[2].NonTextPartCount));
    }

    [Theory]
    [InlineData("""{"type":"image_url","image_url":{"url":"data:a"},"detail":"low"}""")]
    [InlineData("""{"type":"image_url","image_url":{"url":"data:a","detail":"high"},"detail":"low"}""")]
    public void A_detail_beside_an_image_url_object_does_not_make_it_a_low_detail_image(string part)
    {
        // Chat Completions reads detail inside image_url only: the provider bills this image at auto/high detail, so
        // a stray "detail":"low" beside it must not lower its reservation from 48,169 tokens to 2,833.
        Assert.True(Parse($$"""{"model":"auto","messages":[{"role":"user","content":[{{part}}]}]}""", out var request, out var error), error?.Message);

        Assert.Equal(1, request.Messages[0].ImageCount);
        Assert.Equal(0, request.Messages[0].LowDetailImageCount);
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("default")]
    [InlineData("flex")]
    [InlineData(null)]
    public void A_service_tier_priced_at_or_below_the_catalog_passes_through(string? tier)
    {
        var value = tier is null ? "null" : $"\"{tier}\"";
        var ok = Parse($$"""{"model":"auto","service_tier":{{value}},"messages":[{"role":"user","content":"hi"}]}""", out _, out var error);

        Assert.True(ok, error?.Message);
    }

    [Theory]
    [InlineData("{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"hi \\ud800\"}]}", "surrogate")]
    [InlineData("{\"model\":\"\\udc00\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "surrogate")]
    [InlineData("{\"\\ud800\":1,\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "surrogate")]
    [InlineData("{\"model\":\"auto\",\"user\":\"\\ud83d\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "surrogate")]
    [InlineData("{\"model\":\"auto\",\"metadata\":{\"k\":\"\\ud800x\"},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "surrogate")]
    public void A_string_with_an_unpaired_surrogate_escape_is_a_400_not_an_exception(string json, string messageFragment)
    {
        var ok = Parse(json, out _, out var error);

        Assert.False(ok);
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_json", error.Code);
        Assert.Contains(messageFragment, error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("content")]
    [InlineData("passthrough")]
    public void A_body_that_is_not_utf8_is_a_400_even_where_the_router_does_not_read(string where)
    {
        // 0xFF never occurs in UTF-8; in a field the router skips, the reader would not notice it.
        var prefix = where == "content"
            ? "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"bad "u8.ToArray()
            : "{\"model\":\"auto\",\"x_vendor\":\"bad "u8.ToArray();
        var suffix = where == "content"
            ? "\"}]}"u8.ToArray()
            : "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"u8.ToArray();
        byte[] body = [.. prefix, 0xFF, 0xFE, .. suffix];

        var ok = ChatRequestParser.TryParse(body, out _, out var error);

        Assert.False(ok);
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_json", error.Code);
        Assert.Contains("UTF-8", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(40, null)]
    [InlineData(40, 3)]
    [InlineData(40, 37)]
    public void A_property_sent_twice_is_refused_however_many_properties_the_body_has(int properties, int? repeated)
    {
        var fields = Enumerable.Range(0, properties).Select(i => $"\"x_{i}\":{i}").ToList();
        if (repeated is { } r)
        {
            fields.Add($"\"x_{r}\":0");
        }

        var ok = Parse("{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]," + string.Join(',', fields) + "}", out _, out var error);

        Assert.Equal(repeated is null, ok);
        if (repeated is { } name)
        {
            Assert.Equal($"x_{name}", error.Param);
        }
    }

    [Fact]
    public void A_valid_surrogate_pair_is_read_as_one_character()
    {
        var ok = Parse("{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"smile \\ud83d\\ude00\"}]}", out var request, out _);

        Assert.True(ok);
        Assert.Equal("smile \U0001F600", request.LastUserText);
    }

    [Fact]
    public void Assistant_tool_call_messages_without_content_are_accepted()
    {
        var ok = Parse("""
            {"model":"auto","messages":[{"role":"user","content":"weather?"},
             {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"w","arguments":"{}"}}]},
             {"role":"tool","tool_call_id":"c1","content":"sunny"}]}
            """, out var request, out _);

        Assert.True(ok);
        Assert.True(request.Messages[1].HasToolCalls);
        Assert.Equal("sunny", request.Messages[2].Text);
    }
}
