using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;

namespace Router.Core.Routing;

/// <summary>A tenant rule as written in configuration or sent to the admin API: conditions and actions.</summary>
public sealed class RuleDefinition
{
    /// <summary>Name shown in decisions (default <c>rule-N</c>).</summary>
    [JsonPropertyName("name")]
    public string? Name { get; set; }

    /// <summary>All conditions must hold; an empty <c>when</c> matches every request.</summary>
    [JsonPropertyName("when")]
    public RuleConditions When { get; set; } = new();

    /// <summary>What the rule does when it matches.</summary>
    [JsonPropertyName("then")]
    public RuleActions Then { get; set; } = new();
}

/// <summary>Conditions of a rule; unset conditions match anything.</summary>
public sealed class RuleConditions
{
    /// <summary>Task types (any of).</summary>
    [JsonPropertyName("task")]
    public List<string>? Task { get; set; }

    /// <summary>Analysed complexity range (1–10).</summary>
    [JsonPropertyName("complexity")]
    public RuleRange? Complexity { get; set; }

    /// <summary>Risk levels (any of).</summary>
    [JsonPropertyName("risk_level"), ConfigurationKeyName("risk_level")]
    public List<string>? RiskLevel { get; set; }

    /// <summary>Risk categories (any of).</summary>
    [JsonPropertyName("risk_categories"), ConfigurationKeyName("risk_categories")]
    public List<string>? RiskCategories { get; set; }

    /// <summary>Prompt token range.</summary>
    [JsonPropertyName("prompt_tokens"), ConfigurationKeyName("prompt_tokens")]
    public RuleRange? PromptTokens { get; set; }

    /// <summary>API key ids (any of).</summary>
    [JsonPropertyName("key_id"), ConfigurationKeyName("key_id")]
    public List<string>? KeyId { get; set; }

    /// <summary>Prefix of <c>x-session-id</c>.</summary>
    [JsonPropertyName("session_prefix"), ConfigurationKeyName("session_prefix")]
    public string? SessionPrefix { get; set; }

    /// <summary>The request's <c>user</c> field (any of).</summary>
    [JsonPropertyName("user")]
    public List<string>? User { get; set; }

    /// <summary>Required <c>metadata</c> entries (all of, exact values).</summary>
    [JsonPropertyName("metadata")]
    public Dictionary<string, string>? Metadata { get; set; }

    /// <summary>Required request headers (all of, exact values, names case-insensitive).</summary>
    [JsonPropertyName("headers")]
    public Dictionary<string, string>? Headers { get; set; }
}

/// <summary>An inclusive numeric range; either end may be open.</summary>
public sealed class RuleRange
{
    /// <summary>Lowest matching value.</summary>
    [JsonPropertyName("min")]
    public double? Min { get; set; }

    /// <summary>Highest matching value.</summary>
    [JsonPropertyName("max")]
    public double? Max { get; set; }
}

/// <summary>Actions of a rule.</summary>
public sealed class RuleActions
{
    /// <summary>Send to this catalog model.</summary>
    [JsonPropertyName("pin_model"), ConfigurationKeyName("pin_model")]
    public string? PinModel { get; set; }

    /// <summary>Lowest tier allowed.</summary>
    [JsonPropertyName("min_tier"), ConfigurationKeyName("min_tier")]
    public string? MinTier { get; set; }

    /// <summary>Highest tier allowed.</summary>
    [JsonPropertyName("max_tier"), ConfigurationKeyName("max_tier")]
    public string? MaxTier { get; set; }

    /// <summary>Complexity used for routing is at most this (1–10).</summary>
    [JsonPropertyName("cap_complexity"), ConfigurationKeyName("cap_complexity")]
    public int? CapComplexity { get; set; }

    /// <summary>Neither read nor write the response cache.</summary>
    [JsonPropertyName("disable_cache"), ConfigurationKeyName("disable_cache")]
    public bool? DisableCache { get; set; }

    /// <summary>Audit the answer whatever the sampling rate.</summary>
    [JsonPropertyName("force_audit"), ConfigurationKeyName("force_audit")]
    public bool? ForceAudit { get; set; }

    /// <summary>Refuse the request with this message (403).</summary>
    [JsonPropertyName("deny")]
    public string? Deny { get; set; }
}
