using Router.Core.Chat;
using Router.Core.Pipeline;

namespace Router.Core.Metering;

/// <summary>Stage 2 of the pipeline: rate limits, the runaway-agent guard and the budget reservation, in that order.</summary>
public sealed class Admission(RequestLimiter limiter, LoopGuard loops, BudgetGuard budgets)
{
    /// <summary>Rate limits and the runaway-agent guard; null when the request may proceed.</summary>
    public RouterError? Admit(RequestContext context, PreparedRequest prepared, ulong requestHash)
    {
        var (profile, _, policy, embedding) = prepared;
        return limiter.TryAcquire(policy, context.Caller, profile.PromptTokens + profile.ExpectedOutputTokens)
            ?? loops.Check(context.SessionKey, policy, requestHash, embedding);
    }

    /// <summary>Reserves the request's worst-case cost against the budgets, or returns the 402 that refuses it.</summary>
    public async Task<(BudgetReservation? Reservation, RouterError? Error)> ReserveAsync(
        RequestContext context, ChatRequest request, PreparedRequest prepared, CancellationToken cancellationToken)
    {
        var (profile, decision, policy, _) = prepared;

        // The worst case: every candidate could answer, with as many tokens as the request allows.
        var estimate = decision.Candidates.Max(m =>
        {
            var cost = m.Cost(profile.PromptTokens, request.MaxTokens ?? m.MaxOutputTokens);
            return cost + policy.FeeFor(cost);
        });
        return await budgets.ReserveAsync(policy, context.Caller, estimate, cancellationToken);
    }

    /// <summary>Settles the reservation with what the request really cost (fees included).</summary>
    public async Task SettleAsync(RequestContext context, BudgetReservation reservation, decimal billedUsd, CancellationToken cancellationToken)
    {
        loops.AddSpend(context.SessionKey, billedUsd);
        await budgets.SettleAsync(reservation, billedUsd, cancellationToken);
    }
}
