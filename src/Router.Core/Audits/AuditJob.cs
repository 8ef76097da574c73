using System.Text.Json.Serialization;
using Router.Core.Routing;

namespace Router.Core.Audits;

/// <summary>Why an answer was sampled for audit.</summary>
public static class AuditReasons
{
    /// <summary>Random sample of economy/standard answers.</summary>
    public const string Sampled = "sampled";

    /// <summary>Medium or high risk answered below premium.</summary>
    public const string Risk = "risk";

    /// <summary>A tenant rule forced it.</summary>
    public const string Rule = "rule";

    /// <summary>A sampled semantic cache hit.</summary>
    public const string SemanticHit = "semantic_hit";

    /// <summary>A premium answer in a raised band, re-tested against the lower tier.</summary>
    public const string Probe = "probe";
}

/// <summary>Why an answer chosen for audit was not queued (the <c>router.audit.skip</c> tag of <c>router.audits.skipped</c>).</summary>
public static class AuditSkips
{
    /// <summary>Past the audits allowed a minute.</summary>
    public const string Cap = "cap";

    /// <summary>The request has content the job cannot carry (images, files): an audit of its text alone is no evidence.</summary>
    public const string NonText = "non_text";

    /// <summary>The conversation has tool calls or tool results, which the job does not carry (each turn's text only): the
    /// reference would answer without the tools' output, which the judge reads.</summary>
    public const string ToolTurns = "tool_turns";

    /// <summary>A probe whose request no model of the lower tier can serve.</summary>
    public const string NoChallenger = "no_challenger";

    /// <summary>Personal data in the text the job would carry: found by the risk scan (category <c>pii</c>) or by the
    /// personal-data detector reading the whole job.</summary>
    public const string PersonalData = "personal_data";

    /// <summary>Traffic a tenant rule pins to one model (data residency, say): only the audit a rule asks for copies it.</summary>
    public const string Pinned = "pinned";
}

/// <summary>One audit to run, as it travels on the <c>quality-audits</c> queue. Idempotent by request id.</summary>
public sealed record AuditJob
{
    /// <summary>The audited request.</summary>
    [JsonPropertyName("request_id")] public required string RequestId { get; init; }
    /// <summary>The tenant.</summary>
    [JsonPropertyName("tenant")] public required string TenantId { get; init; }
    /// <summary>When the request arrived.</summary>
    [JsonPropertyName("timestamp")] public required DateTimeOffset Timestamp { get; init; }
    /// <summary>Task type.</summary>
    [JsonPropertyName("task")] public required string Task { get; init; }
    /// <summary>Complexity band.</summary>
    [JsonPropertyName("band")] public required string Band { get; init; }
    /// <summary>The model that answered.</summary>
    [JsonPropertyName("model")] public required string Model { get; init; }
    /// <summary>Its tier.</summary>
    [JsonPropertyName("tier")] public required string Tier { get; init; }
    /// <summary>Why it is audited (<see cref="AuditReasons"/>).</summary>
    [JsonPropertyName("reason")] public required string Reason { get; init; }

    /// <summary>For probes: the cheaper tier to test; its answer is generated during the audit.</summary>
    [JsonPropertyName("challenger_tier")] public string? ChallengerTier { get; init; }

    /// <summary>For probes: what the request needs of a model (context, capabilities), so that the lower tier is tested
    /// with a model that could serve it. Absent from jobs queued before it was carried, which choose among all the tier's models.</summary>
    [JsonPropertyName("requirements")] public ModelRequirements? Requirements { get; init; }

    /// <summary>The conversation, as role/text pairs (bounded).</summary>
    [JsonPropertyName("messages")] public required IReadOnlyList<AuditMessage> Messages { get; init; }

    /// <summary>The answer served.</summary>
    [JsonPropertyName("answer")] public required string Answer { get; init; }

    /// <summary>Set when the payload was moved to blob storage; the queue message then carries no text.</summary>
    [JsonPropertyName("payload_blob")] public string? PayloadBlob { get; init; }
}

/// <summary>A message of the audited conversation.</summary>
/// <param name="Role">The role.</param>
/// <param name="Content">The text.</param>
public sealed record AuditMessage([property: JsonPropertyName("role")] string Role, [property: JsonPropertyName("content")] string Content);

/// <summary>How the cheaper answer compared with the premium reference.</summary>
public enum AuditVerdict
{
    /// <summary>Worse than the reference.</summary>
    Worse,

    /// <summary>About as good.</summary>
    Equivalent,

    /// <summary>Better than the reference.</summary>
    Better,

    /// <summary>The judge's reply held no verdict (empty, a refusal, error text, JSON without <c>better</c>): the row
    /// records the audit and its cost, but it is no evidence either way.</summary>
    Unjudged,
}

/// <summary>An audit's outcome: one row per request id.</summary>
public sealed record AuditResult
{
    /// <summary>The audited request.</summary>
    public required string RequestId { get; init; }

    /// <summary>The tenant.</summary>
    public required string TenantId { get; init; }

    /// <summary>When the audited request arrived.</summary>
    public required DateTimeOffset RequestTime { get; init; }

    /// <summary>When the audit finished.</summary>
    public required DateTimeOffset AuditedAt { get; init; }

    /// <summary>Task type.</summary>
    public required string Task { get; init; }

    /// <summary>Complexity band.</summary>
    public required string Band { get; init; }

    /// <summary>The model whose answer was judged.</summary>
    public required string Model { get; init; }

    /// <summary>Its tier.</summary>
    public required string Tier { get; init; }

    /// <summary>Why it was audited.</summary>
    public required string Reason { get; init; }

    /// <summary>The verdict.</summary>
    public required AuditVerdict Verdict { get; init; }

    /// <summary>Score of the judged answer, 0–1.</summary>
    public required double Score { get; init; }

    /// <summary>The two judge passes (original and swapped order) disagreed.</summary>
    public bool PositionDisagreement { get; init; }

    /// <summary>Whether the audit is evidence of quality: the judge gave a verdict in both passes and they agreed. An
    /// unjudged audit, or one whose verdict depends on the answers' order, is kept but counts for nothing.</summary>
    public bool Conclusive => Verdict != AuditVerdict.Unjudged && !PositionDisagreement;

    /// <summary>What the audit cost (reference and judge calls), metered apart from the tenant's usage.</summary>
    public decimal CostUsd { get; init; }
}

/// <summary>Source-generated JSON for audit jobs.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AuditJob))]
public sealed partial class AuditJsonContext : JsonSerializerContext;
