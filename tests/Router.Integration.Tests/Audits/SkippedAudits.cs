using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Router.Integration.Tests.Audits;

/// <summary>This router's own <c>router.audits.skipped</c>, as (audit reason, why skipped): other servers in the test run
/// publish instruments of the same name.</summary>
internal sealed class SkippedAudits : IDisposable
{
    private readonly MeterListener _listener = new();

    public SkippedAudits(RouterServerHost router)
    {
        var meters = router.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name == "router.audits.skipped")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string? reason = null, skip = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "router.audit.reason")
                {
                    reason = tag.Value as string;
                }
                else if (tag.Key == "router.audit.skip")
                {
                    skip = tag.Value as string;
                }
            }

            Seen.Enqueue((reason, skip));
        });
        _listener.Start();
    }

    public ConcurrentQueue<(string? Reason, string? Skip)> Seen { get; } = new();

    /// <summary>Waits (at most 30 seconds) until <paramref name="done"/>: sampling runs after the answer has gone out.</summary>
    public static async Task UntilAsync(Func<bool> done)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!done())
        {
            await Task.Delay(50, timeout.Token);
        }
    }

    public void Dispose() => _listener.Dispose();
}
