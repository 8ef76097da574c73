namespace Router.Core.Analysis;

/// <summary>How careful the answer to a request must be; see REPORT.md for the mapping from evidence to level.</summary>
public enum RiskLevel
{
    /// <summary>No risk evidence.</summary>
    None,
    /// <summary>The topic touches a sensitive area in general or educational terms.</summary>
    Low,
    /// <summary>Personal situation in a sensitive area, or personal data present.</summary>
    Medium,
    /// <summary>Urgent, dangerous or consequential: self-harm, acute symptoms, dosing, bulk personal data, attack tooling.</summary>
    High,
}

/// <summary>Sensitive areas named in the public contract.</summary>
public enum RiskCategory
{
    /// <summary>Health, symptoms, medication.</summary>
    Medical,
    /// <summary>Law, contracts, disputes, courts.</summary>
    Legal,
    /// <summary>Money decisions, taxes, debt, investments.</summary>
    Financial,
    /// <summary>Personal data: identifiers, contact details, card and account numbers.</summary>
    Pii,
    /// <summary>Attacks, compromises, credentials.</summary>
    Security,
    /// <summary>Suicide and self-injury.</summary>
    SelfHarm,
}

/// <summary>Wire names of risk levels and categories.</summary>
public static class RiskNames
{
    /// <summary>The contract's name of a level: <c>none|low|medium|high</c>.</summary>
    public static string ToWireName(this RiskLevel level) => level switch
    {
        RiskLevel.Low => "low",
        RiskLevel.Medium => "medium",
        RiskLevel.High => "high",
        _ => "none",
    };

    /// <summary>The contract's name of a category, e.g. <c>self_harm</c>.</summary>
    public static string ToWireName(this RiskCategory category) => category switch
    {
        RiskCategory.Medical => "medical",
        RiskCategory.Legal => "legal",
        RiskCategory.Financial => "financial",
        RiskCategory.Pii => "pii",
        RiskCategory.Security => "security",
        _ => "self_harm",
    };
}

/// <summary>One piece of evidence behind a risk category: which rule matched and a safe rendering of what it matched.</summary>
/// <param name="Category">The category the evidence supports.</param>
/// <param name="Rule">A stable rule name, e.g. <c>pii.card_luhn</c> or <c>medical.dosage</c>.</param>
/// <param name="Match">The matched keyword, or a masked value for personal data (never the raw identifier).</param>
/// <param name="Level">The level this evidence alone implies.</param>
public sealed record RiskEvidence(RiskCategory Category, string Rule, string Match, RiskLevel Level);

/// <summary>The risk verdict: overall level, the categories seen, and the evidence for them.</summary>
/// <param name="Level">The highest level implied by the evidence.</param>
/// <param name="Categories">Distinct categories with evidence, most severe first.</param>
/// <param name="Evidence">Every rule that fired, capped at a small number per category.</param>
public sealed record RiskAssessment(RiskLevel Level, IReadOnlyList<RiskCategory> Categories, IReadOnlyList<RiskEvidence> Evidence)
{
    /// <summary>No evidence at all.</summary>
    public static RiskAssessment None { get; } = new(RiskLevel.None, [], []);
}
