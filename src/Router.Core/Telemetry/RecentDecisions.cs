using Router.Core.Metering;

namespace Router.Core.Telemetry;

/// <summary>A routed request as the dashboard lists it, with the decision's reasons.</summary>
/// <param name="Usage">The usage row.</param>
/// <param name="Reasons">Why the router chose as it did.</param>
public sealed record DecisionRecord(UsageRecord Usage, IReadOnlyList<string> Reasons);

/// <summary>The last decisions this instance made (a bounded ring), for the dashboard.</summary>
public sealed class RecentDecisions
{
    private const int Capacity = 200;
    private readonly DecisionRecord?[] _ring = new DecisionRecord?[Capacity];
    private readonly Lock _gate = new();
    private int _next;

    /// <summary>Adds a decision, dropping the oldest when full.</summary>
    public void Add(DecisionRecord decision)
    {
        lock (_gate)
        {
            _ring[_next] = decision;
            _next = (_next + 1) % Capacity;
        }
    }

    /// <summary>The decisions, newest first.</summary>
    public IReadOnlyList<DecisionRecord> Snapshot()
    {
        lock (_gate)
        {
            var list = new List<DecisionRecord>(Capacity);
            for (var i = 1; i <= Capacity; i++)
            {
                if (_ring[(_next - i + Capacity) % Capacity] is { } item)
                {
                    list.Add(item);
                }
            }

            return list;
        }
    }
}
