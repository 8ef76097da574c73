using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Router.Core.Chat;

namespace Router.Core.Tests.Chat;

public sealed class UpstreamBodyWriterTests
{
    private static JsonObject Rewrite(string json, string upstreamModel)
    {
        Assert.True(ChatRequestParser.TryParse(Encoding.UTF8.GetBytes(json), out var request, out _));
        var output = UpstreamBodyWriter.Write(request, upstreamModel);
        return JsonNode.Parse(output)!.AsObject();
    }

    [Fact]
    public void Rewrites_only_the_model_and_keeps_unknown_fields_byte_for_byte()
    {
        const string json = """{"model":"auto","messages":[{"role":"user","content":"hi \u00e9"}],"logprobs":true,"top_logprobs":2,"x_vendor":{"a":[1,2.50,"\u2603"]},"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object"}}}}""";

        Assert.True(ChatRequestParser.TryParse(Encoding.UTF8.GetBytes(json), out var request, out _));
        var output = Encoding.UTF8.GetString(UpstreamBodyWriter.Write(request, "gpt-4o-mini"));

        Assert.Equal(json.Replace("\"model\":\"auto\"", "\"model\":\"gpt-4o-mini\"", StringComparison.Ordinal), output);
    }

    [Fact]
    public void Removes_the_router_extension_object_wherever_it_is()
    {
        foreach (var json in new[]
        {
            """{"router":{"quality":0.5},"model":"auto","messages":[{"role":"user","content":"hi"}]}""",
            """{"model":"auto","router":{"quality":0.5},"messages":[{"role":"user","content":"hi"}]}""",
            """{"model":"auto","messages":[{"role":"user","content":"hi"}], "router" : {"quality":0.5} }""",
        })
        {
            var body = Rewrite(json, "m");
            Assert.False(body.ContainsKey("router"));
            Assert.Equal("m", body["model"]!.GetValue<string>());
            Assert.Single(body["messages"]!.AsArray());
        }
    }

    [Fact]
    public void Streams_ask_for_usage_whether_or_not_the_client_did()
    {
        var inserted = Rewrite("""{"model":"auto","stream":true,"messages":[{"role":"user","content":"hi"}]}""", "m");
        var replaced = Rewrite("""{"model":"auto","stream":true,"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"hi"}]}""", "m");
        var plain = Rewrite("""{"model":"auto","messages":[{"role":"user","content":"hi"}]}""", "m");

        Assert.True(inserted["stream_options"]!["include_usage"]!.GetValue<bool>());
        Assert.True(replaced["stream_options"]!["include_usage"]!.GetValue<bool>());
        Assert.False(plain.ContainsKey("stream_options"));
    }

    [Theory]
    [InlineData("""{"include_obfuscation":false}""")]
    [InlineData("""{"include_obfuscation":false,"include_usage":false}""")]
    [InlineData("""{ "include_usage" : null , "include_obfuscation":false }""")]
    [InlineData("""{"include_usage":true,"include_obfuscation":false}""")]
    public void A_stream_keeps_the_clients_other_stream_options_while_usage_is_asked_for(string streamOptions)
    {
        var json = $$"""{"model":"auto","stream":true,"stream_options":{{streamOptions}},"messages":[{"role":"user","content":"hi"}]}""";

        var options = Rewrite(json, "m")["stream_options"]!.AsObject();

        Assert.True(options["include_usage"]!.GetValue<bool>());
        Assert.False(options["include_obfuscation"]!.GetValue<bool>());
        Assert.Equal(2, options.Count);
    }

    [Theory]
    [InlineData("""{}""")]
    [InlineData("""{ }""")]
    [InlineData("""null""")]
    public void A_stream_with_empty_or_null_stream_options_asks_for_usage(string streamOptions)
    {
        var json = $$"""{"model":"auto","stream":true,"stream_options":{{streamOptions}},"messages":[{"role":"user","content":"hi"}]}""";

        var options = Rewrite(json, "m")["stream_options"]!.AsObject();

        Assert.True(options["include_usage"]!.GetValue<bool>());
        Assert.Single(options);
    }

    [Fact]
    public void A_stream_that_already_asks_for_usage_is_forwarded_byte_for_byte()
    {
        const string json = """{"model":"m","stream":true,"stream_options":{"include_obfuscation":false, "include_usage":true},"messages":[{"role":"user","content":"hi"}]}""";

        Assert.True(ChatRequestParser.TryParse(Encoding.UTF8.GetBytes(json), out var request, out _));

        Assert.Equal(json, Encoding.UTF8.GetString(UpstreamBodyWriter.Write(request, "m")));
    }

    [Theory]
    [InlineData("""{"router":{"quality":0.5},"model":"auto","stream":true,"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("""{"router":{"quality":0.5},"stream":true,"messages":[{"role":"user","content":"hi"}],"model":"auto"}""")]
    public void A_stream_whose_body_opens_with_the_router_object_asks_for_usage_and_drops_the_router_object(string json)
    {
        var body = Rewrite(json, "m");

        Assert.False(body.ContainsKey("router"));
        Assert.True(body["stream_options"]!["include_usage"]!.GetValue<bool>());
        Assert.Equal("m", body["model"]!.GetValue<string>());
    }

    [Fact]
    public void A_stream_options_key_spelt_with_escapes_is_set_in_place()
    {
        const string json = """{"model":"m","stream":true,"stream_options":{"include\u005fusage":false},"messages":[{"role":"user","content":"hi"}]}""";

        var options = Rewrite(json, "m")["stream_options"]!.AsObject();

        Assert.True(options["include_usage"]!.GetValue<bool>());
        Assert.Single(options);
    }

    [Fact]
    public void Escapes_model_names_that_need_it()
    {
        var body = Rewrite("""{"model":"auto","messages":[{"role":"user","content":"hi"}]}""", "we\"ird/model");
        Assert.Equal("we\"ird/model", body["model"]!.GetValue<string>());
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(body.ToJsonString()).RootElement.ValueKind);
    }
}
