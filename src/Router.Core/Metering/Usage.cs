namespace Router.Core.Metering;

/// <summary>How a request ended, for billing and usage.</summary>
public static class UsageOutcomes
{
    /// <summary>Answered by a model or the cache.</summary>
    public const string Success = "success";

    /// <summary>The router or every provider failed.</summary>
    public const string Error = "error";

    /// <summary>The provider refused the request (4xx passed through).</summary>
    public const string ClientError = "client_error";

    /// <summary>The client went away before the answer was complete.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>Whether a row with <paramref name="outcome"/> counts as an error in usage (<see cref="Error"/> or
    /// <see cref="ClientError"/>). Such a row carries no fee: the tenant pays the provider's cost of the tokens produced
    /// and nothing on top for a call that failed.</summary>
    public static bool IsError(string outcome) => outcome is Error or ClientError;
}

/// <summary>One row per routed request: what it cost and how it was served. No prompt or answer text.</summary>
public sealed record UsageRecord
{
    /// <summary>The router's request id (the row's identity).</summary>
    public required string RequestId { get; init; }

    /// <summary>The tenant.</summary>
    public required string TenantId { get; init; }

    /// <summary>The key id, or null for the anonymous loopback tenant.</summary>
    public string? KeyId { get; init; }

    /// <summary>The agent session, if any.</summary>
    public string? SessionId { get; init; }

    /// <summary>When the request arrived (UTC); its day is the row's partition.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>Catalog id of the model that answered (or was last tried).</summary>
    public string? Model { get; init; }

    /// <summary>Tier of that model.</summary>
    public string? Tier { get; init; }

    /// <summary>Analysed task type.</summary>
    public string? Task { get; init; }

    /// <summary>Analysed complexity 1–10.</summary>
    public int Complexity { get; init; }

    /// <summary>Analysed risk level.</summary>
    public string? Risk { get; init; }

    /// <summary>miss, exact, semantic or bypass.</summary>
    public string Cache { get; init; } = "miss";

    /// <summary>Prompt tokens billed.</summary>
    public int PromptTokens { get; init; }

    /// <summary>Completion tokens billed.</summary>
    public int CompletionTokens { get; init; }

    /// <summary>Prompt tokens the provider served from its prompt cache.</summary>
    public int CachedPromptTokens { get; init; }

    /// <summary>Whether token counts came from the provider or were counted by the router.</summary>
    public string UsageSource { get; init; } = "provider";

    /// <summary>Provider cost in USD.</summary>
    public decimal CostUsd { get; init; }

    /// <summary>The same tokens on the baseline premium model.</summary>
    public decimal BaselineCostUsd { get; init; }

    /// <summary>The router's per-call fee and markup, billed apart from provider cost; 0 on an error row
    /// (<see cref="UsageOutcomes.IsError"/>).</summary>
    public decimal FeeUsd { get; init; }

    /// <summary>Failed upstream attempts before the answer.</summary>
    public int Fallbacks { get; init; }

    /// <summary>Milliseconds from arrival to the end of the answer.</summary>
    public double LatencyMs { get; init; }

    /// <summary>One of <see cref="UsageOutcomes"/>.</summary>
    public string Outcome { get; init; } = UsageOutcomes.Success;

    /// <summary>Error code when the outcome is not a success.</summary>
    public string? ErrorCode { get; init; }

    /// <summary>Whether the answer was streamed.</summary>
    public bool Streamed { get; init; }

    /// <summary>Audit score (0–1) once the answer has been audited.</summary>
    public double? AuditScore { get; init; }

    /// <summary>Savings against the baseline.</summary>
    public decimal SavingsUsd => BaselineCostUsd - CostUsd;
}

/// <summary>The usage ledger: exactly one row per request id.</summary>
public interface IUsageLedger
{
    /// <summary>Records a row; a row that already exists for the request id counts as recorded (returns false).</summary>
    ValueTask<bool> RecordAsync(UsageRecord record, CancellationToken cancellationToken);

    /// <summary>The tenant's rows whose timestamp falls on the UTC days from <paramref name="from"/> to <paramref name="to"/> inclusive.</summary>
    IAsyncEnumerable<UsageRecord> QueryAsync(string tenantId, DateOnly from, DateOnly to, CancellationToken cancellationToken);

    /// <summary>Every tenant's rows on the UTC days from <paramref name="from"/> to <paramref name="to"/> (for operators; a scan in Table Storage).</summary>
    IAsyncEnumerable<UsageRecord> QueryAllAsync(DateOnly from, DateOnly to, CancellationToken cancellationToken);

    /// <summary>Adds an audit score to a recorded row; false when the row does not exist.</summary>
    ValueTask<bool> SetAuditScoreAsync(string tenantId, DateTimeOffset timestamp, string requestId, double score, CancellationToken cancellationToken);
}
