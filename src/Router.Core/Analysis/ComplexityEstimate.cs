namespace Router.Core.Analysis;

/// <summary>
/// How much a prompt needs a premium model, on the contract's 1–10 complexity scale, with the signals that produced it.
/// </summary>
/// <param name="Level">1–10, <paramref name="Scale"/> rounded; what <c>x-router-complexity</c> reports and tenant rules match.</param>
/// <param name="Scale">
/// Continuous 1–10: 1 + 9 × the share of reference traffic whose <paramref name="PremiumGain"/> is lower. Uniform on
/// reference traffic, so each complexity point is about a ninth of it; routing reads this value.
/// </param>
/// <param name="PremiumGain">Expected answer quality (0–1) the premium model adds over the economy model: <paramref name="EconomyFailure"/> − <paramref name="PremiumFailure"/>.</param>
/// <param name="EconomyFailure">Estimated chance (or expected shortfall, for judged quality) that the economy model's answer fails.</param>
/// <param name="PremiumFailure">The same for the premium model.</param>
/// <param name="Signals">Contributing signals with their measured value and contribution to <paramref name="PremiumGain"/>, largest first.</param>
/// <param name="UsedEmbedding">True when the learned embedding component (topic prototypes, similar prompts) contributed.</param>
public sealed record ComplexityEstimate(
    int Level,
    double Scale,
    double PremiumGain,
    double EconomyFailure,
    double PremiumFailure,
    IReadOnlyList<ComplexitySignal> Signals,
    bool UsedEmbedding)
{
    /// <summary>Log-odds that the economy model fails where the premium model succeeds (assuming independent failures).</summary>
    public double WeakOnlyFailureLogit => DifficultyModel.Logit(EconomyFailure * (1 - PremiumFailure));
}

/// <summary>One reason behind a <see cref="ComplexityEstimate"/>.</summary>
/// <param name="Name">Stable signal name (for example <c>quantities</c>, <c>topic</c>).</param>
/// <param name="Value">The measured value (a log-scaled count for structural signals, a log-odds for the topic).</param>
/// <param name="Contribution">First-order contribution to <see cref="ComplexityEstimate.PremiumGain"/>, in quality points (0–1 scale).</param>
public readonly record struct ComplexitySignal(string Name, double Value, double Contribution);
