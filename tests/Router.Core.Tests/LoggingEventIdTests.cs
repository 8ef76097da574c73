using System.Reflection;
using Microsoft.Extensions.Logging;
using Router.Core.Pipeline;
using Router.Infrastructure;

namespace Router.Core.Tests;

/// <summary>Event ids of the [LoggerMessage] methods: one id means one event, so an operator's filter or alert on an id
/// (the README names several) catches that event and no other.</summary>
public sealed class LoggingEventIdTests
{
    [Fact]
    public void No_two_log_events_of_the_core_and_infrastructure_share_an_event_id()
    {
        var events = new[] { typeof(ChatPipeline).Assembly, typeof(StoreInventory).Assembly }
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Select(m => (Method: $"{m.DeclaringType!.FullName}.{m.Name}", Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(e => e.Attribute is not null)
            .ToList();

        Assert.True(events.Count > 40, $"only {events.Count} [LoggerMessage] methods found");
        var shared = events.GroupBy(e => e.Attribute!.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Method))}").ToList();
        Assert.Empty(shared);
    }
}
