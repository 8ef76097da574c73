using Router.Core.Analysis;
using Router.Core.Chat;
using Router.Core.Pipeline;

namespace Router.Core.Metering;

/// <summary>Stage 2 of the pipeline: rate limits, the runaway-agent guard and the reservation against the session's spend
/// cap and the budgets, in that order. The requests-per-minute limit is asked before the analysis
/// (<see cref="AdmitRequest"/>), the rest after it.</summary>
public sealed class Admission(RequestLimiter limiter, LoopGuard loops, BudgetGuard budgets)
{
    /// <summary>The requests-per-minute limit, before any analysis; null when the request may proceed.</summary>
    public RouterError? AdmitRequest(RequestContext context, TenantPolicy policy) => limiter.TryAcquireRequest(policy, context.Caller);

    /// <summary>The tokens-per-minute limit and the runaway-agent guard, once the request is analysed; null when it may proceed.</summary>
    public RouterError? Admit(RequestContext context, PreparedRequest prepared, ulong requestHash, ulong agentStep = 0)
    {
        var (profile, _, policy, embedding) = prepared;
        return limiter.TryAcquireTokens(policy, context.Caller, profile.PromptTokens + profile.ExpectedOutputTokens)
            ?? loops.Check(context.SessionKey, policy, requestHash, embedding, agentStep);
    }

    /// <summary>Reserves the request's worst-case cost against the budgets, or returns the 402 that refuses it.</summary>
    public async ValueTask<(BudgetReservation? Reservation, RouterError? Error)> ReserveAsync(
        RequestContext context, ChatRequest request, PreparedRequest prepared, CancellationToken cancellationToken)
    {
        var (profile, decision, policy, _) = prepared;

        // The worst case: every candidate could answer, with as many tokens as the request allows, for each of its n
        // choices; an image at the most a high-detail image costs (the analysis counts a low-detail one).
        var images = request.Messages.Sum(m => m.ImageCount);
        var prompt = profile.PromptTokens + (images * (WorstCaseImageTokens - PromptTokenCounter.PerImage));
        var estimate = decision.Candidates.Max(m =>
        {
            var cost = m.Cost(prompt, (long)(request.MaxTokens ?? m.MaxOutputTokens) * Math.Max(1, request.ChoiceCount));
            return cost + policy.FeeFor(cost);
        });
        return await ReserveAsync(context, policy, estimate, cancellationToken);
    }

    /// <summary>Reserves a known amount (a cache hit's per-call fee), or returns the 402 that refuses it.</summary>
    public async ValueTask<(BudgetReservation? Reservation, RouterError? Error)> ReserveAsync(
        RequestContext context, TenantPolicy policy, decimal amountUsd, CancellationToken cancellationToken)
    {
        // The session's cap first: it answers at once, where the budgets may wait for reservations to settle.
        var (session, refused) = loops.Reserve(context.SessionKey, policy, amountUsd);
        if (session is null)
        {
            return (null, refused);
        }

        var handedOver = false;
        try
        {
            var (reservation, error) = await budgets.ReserveAsync(policy, context.Caller, amountUsd, cancellationToken);
            if (reservation is not null)
            {
                reservation.Session = session;
                handedOver = true;
            }

            return (reservation, error);
        }
        finally
        {
            // Refused by a budget, cancelled while waiting for one, or a spend store that failed: nothing was spent.
            if (!handedOver)
            {
                loops.Settle(session, 0);
            }
        }
    }

    // OpenAI's price of a 2048 x 2048 high-detail image: 85 base tokens and 170 per 512-pixel tile, at most 6 tiles.
    private const int WorstCaseImageTokens = 85 + (170 * 6);

    /// <summary>Settles the reservation, against the session's cap and the budgets, with what the request really cost
    /// (fees included; 0 for a request that failed before any cost).</summary>
    public async Task SettleAsync(BudgetReservation reservation, decimal billedUsd, CancellationToken cancellationToken)
    {
        loops.Settle(reservation.Session, billedUsd);
        await budgets.SettleAsync(reservation, billedUsd, cancellationToken);
    }
}
