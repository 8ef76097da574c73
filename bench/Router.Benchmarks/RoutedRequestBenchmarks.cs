using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Router.Core.Analysis;
using Router.Core.Chat;
using Router.Core.Execution;
using Router.Core.Metering;
using Router.Core.Pipeline;
using Router.Core.Routing;
using Router.Infrastructure;

namespace Router.Benchmarks;

/// <summary>One routed, non-streaming request through the whole pipeline as <c>Router.Server</c> wires it (analysis
/// without the embedding, exact-cache lookup and store, routing decision, admission, usage recorded), with the provider
/// replaced by a canned answer so only the router's own work is measured; and the routing decision alone. Every request
/// carries a different prompt, so each one is a cache miss. The allocation column is the router's share per request:
/// Kestrel's and HttpClient's per-request allocations come on top of it in the server.</summary>
[MemoryDiagnoser]
public class RoutedRequestBenchmarks
{
    private const string Placeholder = "000000000000";
    private ServiceProvider _services = null!;
    private ChatPipeline _pipeline = null!;
    private RequestRouter _router = null!;
    private byte[] _body = [];
    private readonly byte[] _hitBody = Encoding.UTF8.GetBytes("""{"model":"auto","messages":[{"role":"user","content":"Summarise the load test in one short sentence."}]}""");
    private int _counterOffset;
    private long _counter;
    private RuleInput _ruleInput = null!;
    private ModelRequest _auto = null!;
    private TenantPolicy _policy = null!;
    private readonly DiscardingSink _sink = new();

    [GlobalSetup]
    public void Setup()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Router:UseDefaultCatalog"] = "false",
            ["Router:Providers:sim:Endpoint"] = "http://127.0.0.1:9/v1",
            ["Router:Models:sim-small:Provider"] = "sim",
            ["Router:Models:sim-small:Tier"] = "Economy",
            ["Router:Models:sim-small:InputCostPerMillion"] = "0.15",
            ["Router:Models:sim-small:OutputCostPerMillion"] = "0.6",
            ["Router:Models:sim-large:Provider"] = "sim",
            ["Router:Models:sim-large:Tier"] = "Premium",
            ["Router:Models:sim-large:InputCostPerMillion"] = "2.5",
            ["Router:Models:sim-large:OutputCostPerMillion"] = "10",
            ["Router:Embeddings:Provider"] = "None",
            ["Router:Audits:Enabled"] = "false",
            ["Router:LoopGuard:MaxRepeats"] = "10000",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging();
        services.AddRouterInfrastructure();
        services.Replace(ServiceDescriptor.Singleton<IModelClient, CannedModelClient>());
        _services = services.BuildServiceProvider();
        _pipeline = _services.GetRequiredService<ChatPipeline>();
        _router = _services.GetRequiredService<RequestRouter>();

        _body = Encoding.UTF8.GetBytes($$"""{"model":"auto","messages":[{"role":"user","content":"Summarise request {{Placeholder}} of the load test in one short sentence."}]}""");
        _counterOffset = Encoding.UTF8.GetString(_body).IndexOf(Placeholder, StringComparison.Ordinal);
        var request = Parse(_body);
        var profile = _services.GetRequiredService<IRequestAnalyzer>().Analyze(AnalysisRequest.FromPrompt(request.Messages[^1].Text ?? ""));
        var catalog = _services.GetRequiredService<Router.Core.Catalog.ModelCatalog>();
        _auto = ModelRequest.TryResolve(catalog, "auto", out var auto, out _) ? auto : throw new InvalidOperationException("auto");
        _policy = new TenantPolicy { TenantId = "local" };
        _ruleInput = new RuleInput(profile, Context("req_bench_setup"), request);
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(Baseline = true)]
    public RoutingDecision RoutingDecision() =>
        _router.TryDecide(_ruleInput, _auto, _policy, out var decision, out var error) ? decision : throw new InvalidOperationException(error.Message);

    [Benchmark]
    public async Task RoutedRequest()
    {
        // A fresh prompt each time: the counter is written over the placeholder digits in place.
        var digits = (++_counter).ToString("D12", CultureInfo.InvariantCulture);
        Encoding.ASCII.GetBytes(digits, _body.AsSpan(_counterOffset, Placeholder.Length));
        // A request id of its own too: usage is recorded once per id, and a repeated id would skip the write.
        await _pipeline.HandleAsync(Context("req_bench_" + digits), Parse(_body), _sink, CancellationToken.None);
        if (_sink.Status != 200)
        {
            throw new InvalidOperationException($"status {_sink.Status}");
        }
    }

    /// <summary>The same request every time after the first, so each one is served from the exact cache: the router's
    /// own work on the path the load harness's exact-hit target measures. Requests are spread over 256 agent sessions,
    /// as there, so the runaway-agent guard sees no loop.</summary>
    [Benchmark]
    public async Task ExactHitRequest()
    {
        var n = ++_counter;
        var context = Context("req_hit_" + n.ToString("D12", CultureInfo.InvariantCulture), "s-" + (n % 256).ToString(CultureInfo.InvariantCulture));
        await _pipeline.HandleAsync(context, Parse(_hitBody), _sink, CancellationToken.None);
        if (_sink.Status != 200)
        {
            throw new InvalidOperationException($"status {_sink.Status}");
        }
    }

    private static RequestContext Context(string requestId, string? sessionId = null) => new()
    {
        RequestId = requestId,
        TenantId = "local",
        SessionId = sessionId,
        ReceivedAt = DateTimeOffset.UtcNow,
    };

    private static ChatRequest Parse(byte[] body) =>
        ChatRequestParser.TryParse(body, out var request, out var error) ? request : throw new InvalidOperationException(error.Message);

    private sealed class CannedModelClient : IModelClient
    {
        private static readonly byte[] Answer = Encoding.UTF8.GetBytes(
            """{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"sim-small","choices":[{"index":0,"message":{"role":"assistant","content":"The load test sent many requests."},"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":8,"total_tokens":27}}""");

        public Task<UpstreamResponse> SendAsync(UpstreamRequest request, CancellationToken cancellationToken) =>
            Task.FromResult(new UpstreamResponse(200, new MemoryStream(Answer, writable: false), "application/json", null, null));
    }

    private sealed class DiscardingSink : IResponseSink
    {
        public int Status { get; private set; }

        public bool HasStarted => false;

        public void SetHeader(string name, string value)
        {
        }

        public Task WriteJsonAsync(int statusCode, ReadOnlyMemory<byte> json, CancellationToken cancellationToken)
        {
            Status = statusCode;
            return Task.CompletedTask;
        }

        public Task StartEventStreamAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task WriteEventAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
