using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Router.Core.Telemetry;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Telemetry;

public sealed class TelemetryTests
{
    [Fact]
    public async Task Requests_cost_savings_latency_and_traces_are_exported_with_their_dimensions()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var metrics = new List<Metric>();
        var spans = new List<Activity>();
        // Model ids of its own: meters named Router in other tests' servers in this process report to the same listener.
        var settings = new Dictionary<string, string?>
        {
            ["Router:UseDefaultCatalog"] = "false",
            ["Router:Providers:sim:Endpoint"] = simulator.BaseUrl.ToString(),
            ["Router:Models:tele-small:Provider"] = "sim",
            ["Router:Models:tele-small:Tier"] = "Economy",
            ["Router:Models:tele-small:InputCostPerMillion"] = "0.15",
            ["Router:Models:tele-small:OutputCostPerMillion"] = "0.60",
            ["Router:Models:tele-large:Provider"] = "sim",
            ["Router:Models:tele-large:Tier"] = "Premium",
            ["Router:Models:tele-large:InputCostPerMillion"] = "2.50",
            ["Router:Models:tele-large:OutputCostPerMillion"] = "10.00",
        };
        await using var router = await RouterServerHost.StartAsync(settings, builder => builder.Services.AddOpenTelemetry()
            .WithMetrics(m => m.AddMeter(RouterTelemetry.Name).AddInMemoryExporter(metrics))
            .WithTracing(t => t.AddSource(RouterTelemetry.Name).AddAspNetCoreInstrumentation().AddInMemoryExporter(spans)));

        for (var i = 0; i < 3; i++)
        {
            using var response = await TestJson.PostAsync(router.Http, "v1/chat/completions", TestJson.Chat("tele-small", $"telemetry probe {i}"));
            response.EnsureSuccessStatusCode();
        }

        using (var large = await TestJson.PostAsync(router.Http, "v1/chat/completions", TestJson.Chat("tele-large", "telemetry probe large")))
        {
            large.EnsureSuccessStatusCode();
        }

        router.Services.GetRequiredService<MeterProvider>().ForceFlush();
        router.Services.GetRequiredService<TracerProvider>().ForceFlush();

        long Sum(string name, string tag, string value) => metrics.Where(m => m.Name == name)
            .SelectMany(m => Points(m))
            .Where(p => Tags(p).TryGetValue(tag, out var v) && Equals(v, value))
            .Sum(p => p.GetSumLong());

        Assert.Equal(3, Sum("router.requests", "router.model", "tele-small"));
        Assert.Equal(1, Sum("router.requests", "router.model", "tele-large"));
        var savings = metrics.Where(m => m.Name == "router.savings").SelectMany(Points)
            .Where(p => Tags(p).TryGetValue("router.model", out var m) && Equals(m, "tele-small")).Sum(p => p.GetSumDouble());
        Assert.True(savings > 0);
        var stages = metrics.Where(m => m.Name == "router.latency").SelectMany(Points).Select(p => Tags(p)["router.stage"]).ToHashSet();
        Assert.Contains("analysis", stages);
        Assert.Contains("provider", stages);
        Assert.Contains("total", stages);

        var chat = spans.Where(s => s.OperationName == "router.chat" && ((string?)s.GetTagItem("router.model"))?.StartsWith("tele-", StringComparison.Ordinal) == true).ToArray();
        Assert.Equal(4, chat.Length);
        Assert.All(chat, s => Assert.NotNull(s.GetTagItem("router.task")));
        Assert.Contains(spans, s => s.OperationName == "router.upstream" && (string?)s.GetTagItem("router.model") == "tele-large");
    }

    private static IEnumerable<MetricPoint> Points(Metric metric)
    {
        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            yield return point;
        }
    }

    private static Dictionary<string, object?> Tags(MetricPoint point)
    {
        var tags = new Dictionary<string, object?>();
        foreach (var tag in point.Tags)
        {
            tags[tag.Key] = tag.Value;
        }

        return tags;
    }
}
