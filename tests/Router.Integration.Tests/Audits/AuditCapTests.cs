using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenAI.Chat;
using Router.Core.Audits;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Audits;

/// <summary>Router:Audits:MaxPerMinute: what a burst of sampled answers may spend on audits.</summary>
public sealed class AuditCapTests
{
    [Fact]
    public async Task A_burst_past_the_cap_is_answered_but_only_the_cap_is_audited_until_the_minute_refills()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var queue = new RecordingAuditQueue();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Audits:SampleRate"] = "1";
        settings["Router:Audits:MaxPerMinute"] = "2";
        await using var router = await RouterServerHost.StartAsync(settings, b =>
        {
            b.Services.AddSingleton<IAuditQueue>(queue);
            b.Services.AddSingleton<TimeProvider>(time);
        });

        // This router's own counter: other servers in the test run publish instruments of the same name.
        var meters = router.Services.GetRequiredService<IMeterFactory>();
        long skipped = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name == "router.audits.skipped")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref skipped, value));
        listener.Start();

        var client = router.ChatClient("router/economy");
        for (var i = 0; i < 5; i++)
        {
            var answer = await client.CompleteChatAsync([new UserChatMessage($"Suggest a name for a cat, idea {i}.")]);
            Assert.False(string.IsNullOrEmpty(answer.Value.Content[0].Text));
        }

        // The answers have gone out; sampling runs after each one, so wait until all five have been decided.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (queue.Jobs.Count + Interlocked.Read(ref skipped) < 5)
        {
            await Task.Delay(50, timeout.Token);
        }

        Assert.Equal(2, queue.Jobs.Count);
        Assert.Equal(3, Interlocked.Read(ref skipped));

        // Half a minute refills one audit of two a minute.
        time.Advance(TimeSpan.FromSeconds(30));
        await client.CompleteChatAsync([new UserChatMessage("Suggest a name for a dog.")]);
        while (queue.Jobs.Count + Interlocked.Read(ref skipped) < 6)
        {
            await Task.Delay(50, timeout.Token);
        }

        Assert.Equal((3, 3L), (queue.Jobs.Count, Interlocked.Read(ref skipped)));
    }
}
