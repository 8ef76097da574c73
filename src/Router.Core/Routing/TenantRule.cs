using Router.Core.Analysis;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Pipeline;

namespace Router.Core.Routing;

/// <summary>What a rule sees of a request.</summary>
/// <param name="Profile">The analysis.</param>
/// <param name="Context">Caller, session and headers.</param>
/// <param name="Request">The parsed request (user, metadata).</param>
public sealed record RuleInput(RequestProfile Profile, RequestContext Context, ChatRequest Request);

/// <summary>A validated tenant rule, ready to evaluate.</summary>
public sealed class TenantRule
{
    private readonly HashSet<TaskType>? _tasks;
    private readonly HashSet<RiskLevel>? _riskLevels;
    private readonly HashSet<RiskCategory>? _riskCategories;
    private readonly RuleDefinition _definition;

    internal TenantRule(RuleDefinition definition, string name, HashSet<TaskType>? tasks, HashSet<RiskLevel>? levels,
        HashSet<RiskCategory>? categories, ModelTier? minTier, ModelTier? maxTier)
    {
        _definition = definition;
        Name = name;
        _tasks = tasks;
        _riskLevels = levels;
        _riskCategories = categories;
        MinTier = minTier;
        MaxTier = maxTier;
    }

    /// <summary>The rule's name.</summary>
    public string Name { get; }

    /// <summary>Lowest tier, if the rule sets one.</summary>
    public ModelTier? MinTier { get; }

    /// <summary>Highest tier, if the rule sets one.</summary>
    public ModelTier? MaxTier { get; }

    /// <summary>The actions as written.</summary>
    public RuleActions Actions => _definition.Then;

    /// <summary>The definition as written (for the admin API).</summary>
    public RuleDefinition Definition => _definition;

    /// <summary>Whether every condition holds for <paramref name="input"/>.</summary>
    public bool Matches(RuleInput input)
    {
        var when = _definition.When;
        var profile = input.Profile;
        if (_tasks is not null && !_tasks.Contains(profile.Task.Type))
        {
            return false;
        }

        if (when.Complexity is { } complexity && !InRange(complexity, profile.Complexity ?? 5))
        {
            return false;
        }

        if (_riskLevels is not null && !_riskLevels.Contains(profile.Risk.Level))
        {
            return false;
        }

        if (_riskCategories is not null && !profile.Risk.Categories.Any(_riskCategories.Contains))
        {
            return false;
        }

        if (when.PromptTokens is { } tokens && !InRange(tokens, profile.PromptTokens))
        {
            return false;
        }

        if (when.KeyId is { Count: > 0 } keys && (input.Context.KeyId is null || !keys.Contains(input.Context.KeyId)))
        {
            return false;
        }

        if (when.SessionPrefix is { Length: > 0 } prefix
            && (input.Context.SessionId is null || !input.Context.SessionId.StartsWith(prefix, StringComparison.Ordinal)))
        {
            return false;
        }

        if (when.User is { Count: > 0 } users && (input.Request.User is null || !users.Contains(input.Request.User)))
        {
            return false;
        }

        if (when.Metadata is { Count: > 0 } metadata
            && !metadata.All(m => input.Request.Metadata.TryGetValue(m.Key, out var v) && v == m.Value))
        {
            return false;
        }

        return when.Headers is not { Count: > 0 } headers
            || headers.All(h => input.Context.Headers.TryGetValue(h.Key.ToLowerInvariant(), out var v) && v == h.Value);
    }

    private static bool InRange(RuleRange range, double value) =>
        (range.Min is not { } min || value >= min) && (range.Max is not { } max || value <= max);
}
