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
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        await using var router = await RouterServerHost.StartAsync(settings, builder => builder.Services.AddOpenTelemetry()
            .WithMetrics(m => m.AddMeter(RouterTelemetry.Name).AddInMemoryExporter(metrics))
            .WithTracing(t => t.AddSource(RouterTelemetry.Name).AddInMemoryExporter(spans)));

        for (var i = 0; i < 3; i++)
        {
            using var response = await TestJson.PostAsync(router.Http, "v1/chat/completions", TestJson.Chat("sim-small", $"telemetry probe {i}"));
            response.EnsureSuccessStatusCode();
        }

        using (var large = await TestJson.PostAsync(router.Http, "v1/chat/completions", TestJson.Chat("sim-large", "telemetry probe large")))
        {
            large.EnsureSuccessStatusCode();
        }

        router.Services.GetRequiredService<MeterProvider>().ForceFlush();
        router.Services.GetRequiredService<TracerProvider>().ForceFlush();

        long Sum(string name, string tag, string value) => metrics.Where(m => m.Name == name)
            .SelectMany(m => Points(m))
            .Where(p => Tags(p).TryGetValue(tag, out var v) && Equals(v, value))
            .Sum(p => p.GetSumLong());

        Assert.Equal(3, Sum("router.requests", "router.model", "sim-small"));
        Assert.Equal(1, Sum("router.requests", "router.tier", "premium"));
        var savings = metrics.Where(m => m.Name == "router.savings").SelectMany(Points).Sum(p => p.GetSumDouble());
        Assert.True(savings > 0);
        var stages = metrics.Where(m => m.Name == "router.latency").SelectMany(Points).Select(p => Tags(p)["router.stage"]).ToHashSet();
        Assert.Contains("analysis", stages);
        Assert.Contains("provider", stages);
        Assert.Contains("total", stages);

        var chat = spans.Where(s => s.OperationName == "router.chat").ToArray();
        Assert.Equal(4, chat.Length);
        Assert.All(chat, s => Assert.NotNull(s.GetTagItem("router.task")));
        Assert.Contains(spans, s => s.OperationName == "router.upstream" && (string?)s.GetTagItem("router.model") == "sim-large");
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
