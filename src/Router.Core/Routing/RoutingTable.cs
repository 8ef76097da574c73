using System.Globalization;
using Microsoft.Extensions.Options;
using Router.Core.Analysis;
using Router.Core.Catalog;

namespace Router.Core.Routing;

/// <summary>Maps task × complexity × risk to a tier. Rows are matched in order; the tier never falls as complexity
/// rises for any task and risk, so the cost/quality knob moves decisions monotonically.</summary>
public sealed class RoutingTable
{
    /// <summary>The documented default table (README, "Routing").</summary>
    public static IReadOnlyList<RoutingTableEntry> Defaults { get; } =
    [
        Entry("coding", "1-3", ModelTier.Economy), Entry("coding", "4-6", ModelTier.Standard), Entry("coding", "7-10", ModelTier.Premium),
        Entry("math", "1-3", ModelTier.Economy), Entry("math", "4-6", ModelTier.Standard), Entry("math", "7-10", ModelTier.Premium),
        Entry("reasoning", "1-3", ModelTier.Economy), Entry("reasoning", "4-6", ModelTier.Standard), Entry("reasoning", "7-10", ModelTier.Premium),
        Entry("knowledge_qa", "1-4", ModelTier.Economy), Entry("knowledge_qa", "5-7", ModelTier.Standard), Entry("knowledge_qa", "8-10", ModelTier.Premium),
        Entry("advice", "1-4", ModelTier.Economy), Entry("advice", "5-7", ModelTier.Standard), Entry("advice", "8-10", ModelTier.Premium),
        Entry("creative_writing", "1-4", ModelTier.Economy), Entry("creative_writing", "5-8", ModelTier.Standard), Entry("creative_writing", "9-10", ModelTier.Premium),
        Entry("writing", "1-4", ModelTier.Economy), Entry("writing", "5-8", ModelTier.Standard), Entry("writing", "9-10", ModelTier.Premium),
        Entry("roleplay", "1-4", ModelTier.Economy), Entry("roleplay", "5-8", ModelTier.Standard), Entry("roleplay", "9-10", ModelTier.Premium),
        Entry("*", "1-6", ModelTier.Economy), Entry("*", "7-8", ModelTier.Standard), Entry("*", "9-10", ModelTier.Premium),
    ];

    private readonly Row[] _rows;

    /// <summary>Builds the table from options (the defaults when none are configured).</summary>
    public RoutingTable(IOptions<RoutingOptions> options)
        : this(options.Value.Table.Count > 0 ? options.Value.Table : Defaults)
    {
    }

    /// <summary>Builds the table from rows already validated by <see cref="Validate"/>.</summary>
    public RoutingTable(IReadOnlyList<RoutingTableEntry> entries)
    {
        _rows = entries.Select((e, i) => Parse(e, i, out var row, out _) ? row : throw new ArgumentException($"Invalid routing table row {i}.", nameof(entries))).ToArray();
    }

    /// <summary>The tier for a task, an effective complexity (1–10, fractional) and a risk level, with the row that matched.</summary>
    public (ModelTier Tier, string Row) Lookup(TaskType task, double complexity, RiskLevel risk)
    {
        var c = Math.Clamp(complexity, 1, 10);
        foreach (var row in _rows)
        {
            if ((row.Task is null || row.Task == task) && (row.Risk is null || row.Risk == risk) && c >= row.Low - 0.5 && c < row.High + 0.5)
            {
                return (row.Tier, row.Description);
            }
        }

        return (ModelTier.Premium, "no table row matched");
    }

    /// <summary>Every problem with a table at once: unknown names, bad bands, gaps, and tiers that fall as complexity rises.</summary>
    public static IReadOnlyList<string> Validate(IReadOnlyList<RoutingTableEntry> entries, string settingPrefix)
    {
        var errors = new List<string>();
        var rows = new List<Row>();
        for (var i = 0; i < entries.Count; i++)
        {
            if (Parse(entries[i], i, out var row, out var error))
            {
                rows.Add(row);
            }
            else
            {
                errors.Add($"{settingPrefix}:{i}: {error}");
            }
        }

        if (errors.Count > 0)
        {
            return errors;
        }

        var table = new RoutingTable(entries);
        foreach (var task in TaskTypeNames.All)
        {
            foreach (var risk in Enum.GetValues<RiskLevel>())
            {
                var previous = ModelTier.Economy;
                for (var c = 1; c <= 10; c++)
                {
                    var (tier, description) = table.Lookup(task, c, risk);
                    if (description == "no table row matched")
                    {
                        errors.Add($"{settingPrefix}: no row covers task '{task.ToWireName()}', complexity {c}, risk '{risk.ToWireName()}'.");
                        break;
                    }

                    if (tier < previous)
                    {
                        errors.Add($"{settingPrefix}: for task '{task.ToWireName()}' and risk '{risk.ToWireName()}' the tier falls from {previous} to {tier} at complexity {c}; tiers must not fall as complexity rises.");
                        break;
                    }

                    previous = tier;
                }
            }
        }

        return errors.Distinct().ToArray();
    }

    private static RoutingTableEntry Entry(string task, string band, ModelTier tier) => new() { Task = task, Complexity = band, Tier = tier };

    private static bool Parse(RoutingTableEntry entry, int index, out Row row, out string error)
    {
        row = default;
        error = "";
        TaskType? task = null;
        if (entry.Task != "*")
        {
            if (!TaskTypeNames.TryParse(entry.Task, out var t))
            {
                error = $"Task '{entry.Task}' is not a task type or '*' (valid: {string.Join(", ", TaskTypeNames.All.Select(x => x.ToWireName()))}).";
                return false;
            }

            task = t;
        }

        RiskLevel? risk = null;
        if (entry.Risk != "*")
        {
            var match = Enum.GetValues<RiskLevel>().Where(r => r.ToWireName() == entry.Risk).ToArray();
            if (match.Length == 0)
            {
                error = $"Risk '{entry.Risk}' must be none, low, medium, high or '*'.";
                return false;
            }

            risk = match[0];
        }

        var parts = entry.Complexity.Split('-', StringSplitOptions.TrimEntries);
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var low)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var high)
            || low < 1 || high > 10 || low > high)
        {
            error = $"Complexity '{entry.Complexity}' must be a band 'lo-hi' with 1 <= lo <= hi <= 10.";
            return false;
        }

        if (!Enum.IsDefined(entry.Tier))
        {
            error = "Tier must be Economy, Standard or Premium.";
            return false;
        }

        row = new Row(task, risk, low, high, entry.Tier, $"{entry.Task}/{low}-{high}{(risk is null ? "" : "/" + entry.Risk)} -> {entry.Tier.ToWire()}");
        return true;
    }

    private readonly record struct Row(TaskType? Task, RiskLevel? Risk, int Low, int High, ModelTier Tier, string Description);
}
