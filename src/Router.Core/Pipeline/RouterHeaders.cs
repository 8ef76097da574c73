namespace Router.Core.Pipeline;

/// <summary>Names of the <c>x-router-*</c> response headers that explain each decision.</summary>
public static class RouterHeaders
{
    /// <summary>The router's request id.</summary>
    public const string RequestId = "x-router-request-id";

    /// <summary>Catalog id of the model that answered.</summary>
    public const string Model = "x-router-model";

    /// <summary>Tier of that model.</summary>
    public const string Tier = "x-router-tier";

    /// <summary>Task type from analysis.</summary>
    public const string Task = "x-router-task";

    /// <summary>Complexity 1–10.</summary>
    public const string Complexity = "x-router-complexity";

    /// <summary>Risk level.</summary>
    public const string Risk = "x-router-risk";

    /// <summary>miss, exact, semantic or bypass.</summary>
    public const string Cache = "x-router-cache";

    /// <summary>Similarity of a semantic hit.</summary>
    public const string Similarity = "x-router-similarity";

    /// <summary>Failed attempts before the answer.</summary>
    public const string Fallbacks = "x-router-fallbacks";

    /// <summary>Cost of this request in USD.</summary>
    public const string CostUsd = "x-router-cost-usd";

    /// <summary>Savings against the baseline model in USD (provider prices; the router's own fee is not part of them).</summary>
    public const string SavingsUsd = "x-router-savings-usd";

    /// <summary>What the tenant is billed for this request in USD: the cost plus the tenant's per-call fee and markup.</summary>
    public const string BilledUsd = "x-router-billed-usd";
}
