using System.Globalization;

namespace Router.Core.Metering;

/// <summary>Totals of a set of usage rows, as <c>GET /v1/usage</c> reports them.</summary>
public sealed class UsageTotals
{
    /// <summary>Routed requests.</summary>
    public long Requests { get; private set; }

    /// <summary>Prompt tokens.</summary>
    public long PromptTokens { get; private set; }

    /// <summary>Completion tokens.</summary>
    public long CompletionTokens { get; private set; }

    /// <summary>Provider cost.</summary>
    public decimal CostUsd { get; private set; }

    /// <summary>Cost of the same tokens on the baseline model.</summary>
    public decimal BaselineCostUsd { get; private set; }

    /// <summary>Router fees.</summary>
    public decimal FeesUsd { get; private set; }

    /// <summary>Exact cache hits.</summary>
    public long ExactCacheHits { get; private set; }

    /// <summary>Semantic cache hits.</summary>
    public long SemanticCacheHits { get; private set; }

    /// <summary>Failed upstream attempts that were failed over.</summary>
    public long Fallbacks { get; private set; }

    /// <summary>Requests that ended in an error.</summary>
    public long Errors { get; private set; }

    /// <summary>Audited requests.</summary>
    public long Audited { get; private set; }

    private double _auditScoreSum;

    /// <summary>Savings against the baseline.</summary>
    public decimal SavingsUsd => BaselineCostUsd - CostUsd;

    /// <summary>Savings as a percentage of the baseline (0 when the baseline is 0).</summary>
    public decimal SavingsPct => BaselineCostUsd == 0 ? 0 : Math.Round(100 * SavingsUsd / BaselineCostUsd, 2);

    /// <summary>Mean audit score of audited requests, or null.</summary>
    public double? AuditScoreMean => Audited == 0 ? null : Math.Round(_auditScoreSum / Audited, 4);

    /// <summary>Provider cost plus fees: what the tenant is billed.</summary>
    public decimal BilledUsd => CostUsd + FeesUsd;

    /// <summary>Adds one row.</summary>
    public void Add(UsageRecord row)
    {
        Requests++;
        PromptTokens += row.PromptTokens;
        CompletionTokens += row.CompletionTokens;
        CostUsd += row.CostUsd;
        BaselineCostUsd += row.BaselineCostUsd;
        FeesUsd += row.FeeUsd;
        Fallbacks += row.Fallbacks;
        if (row.Cache == "exact")
        {
            ExactCacheHits++;
        }
        else if (row.Cache == "semantic")
        {
            SemanticCacheHits++;
        }

        if (UsageOutcomes.IsError(row.Outcome))
        {
            Errors++;
        }

        if (row.AuditScore is { } score)
        {
            Audited++;
            _auditScoreSum += score;
        }
    }
}

/// <summary>Dimensions usage can be grouped by.</summary>
public enum UsageGrouping
{
    /// <summary>No groups.</summary>
    None,

    /// <summary>UTC day.</summary>
    Day,

    /// <summary>Model.</summary>
    Model,

    /// <summary>Task type.</summary>
    Task,

    /// <summary>Tier.</summary>
    Tier,
}

/// <summary>Aggregates usage rows into totals and groups.</summary>
public static class UsageReport
{
    /// <summary>Parses <c>group_by</c>.</summary>
    public static bool TryParseGrouping(string? value, out UsageGrouping grouping)
    {
        grouping = value switch
        {
            null or "" => UsageGrouping.None,
            "day" => UsageGrouping.Day,
            "model" => UsageGrouping.Model,
            "task" => UsageGrouping.Task,
            "tier" => UsageGrouping.Tier,
            _ => (UsageGrouping)(-1),
        };
        return Enum.IsDefined(grouping);
    }

    /// <summary>Totals and per-group totals of <paramref name="rows"/>.</summary>
    public static async Task<(UsageTotals Totals, IReadOnlyList<(string Key, UsageTotals Totals)> Groups)> AggregateAsync(
        IAsyncEnumerable<UsageRecord> rows, UsageGrouping grouping, CancellationToken cancellationToken)
    {
        var totals = new UsageTotals();
        var groups = new SortedDictionary<string, UsageTotals>(StringComparer.Ordinal);
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            totals.Add(row);
            if (grouping == UsageGrouping.None)
            {
                continue;
            }

            var key = grouping switch
            {
                UsageGrouping.Day => row.Timestamp.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                UsageGrouping.Model => row.Model ?? "(none)",
                UsageGrouping.Task => row.Task ?? "(none)",
                _ => row.Tier ?? "(none)",
            };
            if (!groups.TryGetValue(key, out var group))
            {
                groups[key] = group = new UsageTotals();
            }

            group.Add(row);
        }

        return (totals, groups.Select(g => (g.Key, g.Value)).ToArray());
    }
}
