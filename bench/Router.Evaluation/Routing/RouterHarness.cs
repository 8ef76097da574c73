using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Router.Core.Analysis;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Metering;
using Router.Core.Pipeline;
using Router.Core.Routing;
using Router.Evaluation.Data;

namespace Router.Evaluation.Routing;

/// <summary>The two models of a routing file and their prices in USD per million tokens.</summary>
internal sealed record ModelPair(
    string Strong = RoutingFile.DefaultStrongModel,
    string Weak = RoutingFile.DefaultWeakModel,
    decimal StrongInput = 10m,
    decimal StrongOutput = 30m,
    decimal WeakInput = 0.60m,
    decimal WeakOutput = 0.60m);

/// <summary>A routing-file row as the router analysed it, with both models' outcomes priced by the catalog.</summary>
internal sealed record AnalysedRow(RoutingRow Row, ChatRequest Request, RequestProfile Profile, double StrongCost, double WeakCost)
{
    /// <summary>Label of the complexity AUC: the economy model is wrong and the premium model right.</summary>
    public bool WeakFailsStrongSucceeds => Row.WeakFailsStrongSucceeds;
}

/// <summary>
/// The router itself, built with <c>AddRouterCore()</c> over a catalog of exactly two models (economy = the weak model,
/// premium = the strong one, no standard tier), driven in dry run: the pipeline's analysis and routing steps without a
/// provider call. The per-request knob is the body field <c>{"router":{"quality":q}}</c>, parsed by the router's parser.
/// </summary>
internal sealed class RouterHarness : IDisposable
{
    private const string Tenant = "evaluation";
    private readonly ServiceProvider _services;
    private readonly IRequestAnalyzer _analyzer;
    private readonly RequestRouter _router;
    private readonly ModelRequest _auto;
    private readonly TenantPolicy _policy = TenantPolicy.Default(Tenant);

    public RouterHarness(ComplexityEstimator estimator, ModelPair pair, IEnumerable<KeyValuePair<string, string?>>? settings = null)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Router:UseDefaultCatalog"] = "false",
                ["Router:Providers:offline:Endpoint"] = "http://127.0.0.1:9/v1",
                [$"Router:Models:{pair.Weak}:Provider"] = "offline",
                [$"Router:Models:{pair.Weak}:Tier"] = nameof(ModelTier.Economy),
                [$"Router:Models:{pair.Weak}:InputCostPerMillion"] = pair.WeakInput.ToString(CultureInfo.InvariantCulture),
                [$"Router:Models:{pair.Weak}:OutputCostPerMillion"] = pair.WeakOutput.ToString(CultureInfo.InvariantCulture),
                [$"Router:Models:{pair.Strong}:Provider"] = "offline",
                [$"Router:Models:{pair.Strong}:Tier"] = nameof(ModelTier.Premium),
                [$"Router:Models:{pair.Strong}:InputCostPerMillion"] = pair.StrongInput.ToString(CultureInfo.InvariantCulture),
                [$"Router:Models:{pair.Strong}:OutputCostPerMillion"] = pair.StrongOutput.ToString(CultureInfo.InvariantCulture),
            })
            .AddInMemoryCollection(settings ?? [])
            .Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton(estimator);
        services.AddRouterCore();
        _services = services.BuildServiceProvider();
        _analyzer = _services.GetRequiredService<IRequestAnalyzer>();
        _router = _services.GetRequiredService<RequestRouter>();
        Catalog = _services.GetRequiredService<ModelCatalog>();
        Options = _services.GetRequiredService<Microsoft.Extensions.Options.IOptions<RoutingOptions>>().Value;
        Strong = Catalog.InTier(ModelTier.Premium).Single();
        Weak = Catalog.InTier(ModelTier.Economy).Single();
        if (!ModelRequest.TryResolve(Catalog, ModelCatalog.AutoAlias, out _auto, out var error))
        {
            throw new InvalidOperationException(error.Message);
        }
    }

    public ModelCatalog Catalog { get; }

    public RoutingOptions Options { get; }

    public CatalogModel Strong { get; }

    public CatalogModel Weak { get; }

    /// <summary>The chat request body a client would send for the row, with the knob when given.</summary>
    public static byte[] Body(RoutingRow row, double? quality = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", ModelCatalog.AutoAlias);
            json.WriteStartArray("messages");
            foreach (var turn in row.UserTurns)
            {
                json.WriteStartObject();
                json.WriteString("role", "user");
                json.WriteString("content", turn);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (quality is { } q)
            {
                json.WriteStartObject("router");
                json.WriteNumber("quality", q);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    public static ChatRequest Parse(byte[] body) =>
        ChatRequestParser.TryParse(body, out var request, out var error)
            ? request
            : throw new InvalidDataException($"The router rejected an evaluation body: {error.Message}");

    /// <summary>The text the pipeline embeds for this request (empty: nothing to embed).</summary>
    public string EmbeddingText(ChatRequest request) => _analyzer.GetEmbeddingText(ChatPipeline.ToAnalysisRequest(request));

    /// <summary>The pipeline's analysis step with the embedding it would have computed (empty for the fast path).</summary>
    public AnalysedRow Analyse(RoutingRow row, ChatRequest request, ReadOnlyMemory<float> embedding)
    {
        var profile = _analyzer.Analyze(ChatPipeline.ToAnalysisRequest(request), embedding);
        return new AnalysedRow(
            row,
            request,
            profile,
            (double)Strong.Cost(profile.PromptTokens, row.Strong.OutputTokens),
            (double)Weak.Cost(profile.PromptTokens, row.Weak.OutputTokens));
    }

    /// <summary>The routing step: true when the router sends the request to the premium (strong) model.</summary>
    public bool Premium(AnalysedRow row, ChatRequest request, RequestProfile? profile = null)
    {
        var context = new RequestContext { RequestId = row.Row.Id, TenantId = Tenant };
        if (!_router.TryDecide(new RuleInput(profile ?? row.Profile, context, request), _auto, _policy, out var decision, out var error))
        {
            throw new InvalidOperationException($"The router refused {row.Row.Id}: {error.Message}");
        }

        return decision.Tier switch
        {
            ModelTier.Premium => true,
            ModelTier.Economy => false,
            _ => throw new InvalidOperationException($"Tier {decision.Tier} is not in the two-model catalog."),
        };
    }

    /// <summary>The routing step with the knob set in the request body, parsed as the router parses it.</summary>
    public bool PremiumAtKnob(AnalysedRow row, double quality, RequestProfile? profile = null) =>
        Premium(row, Parse(Body(row.Row, quality)), profile);

    /// <summary>
    /// The lowest knob at which the router sends the row to premium (0 when it always does, +∞ when it never does).
    /// The router's tier never falls as the knob rises, so one threshold describes all its decisions for the row.
    /// </summary>
    public double PremiumFromKnob(AnalysedRow row, RequestProfile? profile = null)
    {
        bool At(double q) => Premium(row, row.Request with { RouterOptions = new RouterRequestOptions(q, null) }, profile);
        if (At(0))
        {
            return 0;
        }

        if (!At(1))
        {
            return double.PositiveInfinity;
        }

        double lo = 0, hi = 1;
        for (var i = 0; i < 30; i++)
        {
            var mid = (lo + hi) / 2;
            if (At(mid))
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }

        return hi;
    }

    public void Dispose() => _services.Dispose();
}
