using System.Text;
using BenchmarkDotNet.Attributes;
using Router.Core.Chat;

namespace Router.Benchmarks;

/// <summary>Parsing a chat request and writing the upstream body: the per-request JSON work of the hot path.</summary>
[MemoryDiagnoser]
public class RequestParsingBenchmarks
{
    private byte[] _small = [];
    private byte[] _conversation = [];
    private ChatRequest _parsed = null!;

    [GlobalSetup]
    public void Setup()
    {
        _small = Encoding.UTF8.GetBytes("""{"model":"auto","messages":[{"role":"user","content":"What is the capital of France? Answer in one word."}],"temperature":0.2}""");
        var turns = string.Join(",", Enumerable.Range(0, 10).Select(i =>
            $$"""{"role":"{{(i % 2 == 0 ? "user" : "assistant")}}","content":"{{new string('w', 400)}} turn {{i}}"}"""));
        const string Head = """{"model":"auto","stream":true,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"messages":[{"role":"system","content":"You are helpful."},""";
        _conversation = Encoding.UTF8.GetBytes(Head + turns + "]}");
        _parsed = Parse(_small);
    }

    [Benchmark(Baseline = true)]
    public ChatRequest ParseSmall() => Parse(_small);

    [Benchmark]
    public ChatRequest ParseConversation() => Parse(_conversation);

    [Benchmark]
    public byte[] WriteUpstreamBody() => UpstreamBodyWriter.Write(_parsed, "gpt-4o-mini-2024-07-18");

    private static ChatRequest Parse(byte[] body) =>
        ChatRequestParser.TryParse(body, out var request, out var error) ? request : throw new InvalidOperationException(error.Message);
}
