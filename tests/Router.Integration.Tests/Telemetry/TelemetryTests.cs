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
        // Exporters append from whichever thread ends an activity or collects metrics, and other tests' routers in this
        // process emit on the same source: the lists are read through locked snapshots.
        var metricsSink = new LockedCollection<Metric>();
        var spansSink = new LockedCollection<Activity>();
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
            .WithMetrics(m => m.AddMeter(RouterTelemetry.Name).AddInMemoryExporter(metricsSink))
            .WithTracing(t => t.AddSource(RouterTelemetry.Name).AddAspNetCoreInstrumentation().AddInMemoryExporter(spansSink)));

        for (var i = 0; i < 3; i++)
        {
            using var response = await TestJson.PostAsync(router.Http, "v1/chat/completions", TestJson.Chat("tele-small", $"telemetry probe {i}"));
            response.EnsureSuccessStatusCode();
        }

        using (var large = await TestJson.PostAsync(router.Http, "v1/chat/completions", TestJson.Chat("tele-large", "telemetry probe large")))
        {
            large.EnsureSuccessStatusCode();
        }

        // A request's span ends after its usage is recorded and counted, which is just after the client has the answer: the
        // metrics are read once the last request's span has ended (at most 30 s), not as the answer arrives.
        static bool IsChat(Activity s) => s.OperationName == "router.chat" && ((string?)s.GetTagItem("router.model"))?.StartsWith("tele-", StringComparison.Ordinal) == true;
        var tracer = router.Services.GetRequiredService<TracerProvider>();
        tracer.ForceFlush();
        var spans = spansSink.Snapshot();
        for (var attempt = 0; attempt < 300 && spans.Count(IsChat) < 4; attempt++)
        {
            await Task.Delay(100);
            tracer.ForceFlush();
            spans = spansSink.Snapshot();
        }

        router.Services.GetRequiredService<MeterProvider>().ForceFlush();
        var metrics = metricsSink.Snapshot();

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

        var chat = spans.Where(IsChat).ToArray();
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

    /// <summary>A collection the exporters may add to from any thread while the test reads a copy.</summary>
    private sealed class LockedCollection<T> : ICollection<T>
    {
        private readonly List<T> _items = [];
        private readonly Lock _lock = new();

        public int Count
        {
            get
            {
                lock (_lock)
                {
                    return _items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public T[] Snapshot()
        {
            lock (_lock)
            {
                return [.. _items];
            }
        }

        public void Add(T item)
        {
            lock (_lock)
            {
                _items.Add(item);
            }
        }

        public void Clear()
        {
            lock (_lock)
            {
                _items.Clear();
            }
        }

        public bool Contains(T item)
        {
            lock (_lock)
            {
                return _items.Contains(item);
            }
        }

        public void CopyTo(T[] array, int arrayIndex)
        {
            lock (_lock)
            {
                _items.CopyTo(array, arrayIndex);
            }
        }

        public bool Remove(T item)
        {
            lock (_lock)
            {
                return _items.Remove(item);
            }
        }

        public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)Snapshot()).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
