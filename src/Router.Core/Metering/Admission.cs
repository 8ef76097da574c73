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
        // choices; an image at the most any model bills for its detail, on top of the nominal tokens the analysis counted.
        long images = 0, lowDetailImages = 0;
        foreach (var message in request.Messages)
        {
            images += message.ImageCount;
            lowDetailImages += message.LowDetailImageCount;
        }

        var prompt = profile.PromptTokens
            + ((images - lowDetailImages) * WorstCaseImageTokens)
            + (lowDetailImages * WorstCaseLowDetailImageTokens);
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

    // The catalog prices no image per model, so an image is reserved at the largest published rule, gpt-4o-mini's: 2,833
    // base tokens and 5,667 per 512-pixel tile at high detail (or auto, or none given), and a high-detail image has at
    // most 8 tiles (scaled to fit 2048 x 2048 and then to a shortest side of 768: 2048 x 768 is 4 x 2 tiles). gpt-4o
    // bills 85 and 170 a tile for the same dollars, so on a model priced like it this reserves 33 times what it costs.
    private const int WorstCaseImageTokens = 2_833 + (5_667 * 8);

    // A low-detail image is the base tokens alone, whatever its size.
    private const int WorstCaseLowDetailImageTokens = 2_833;

    /// <summary>Settles the reservation, against the session's cap and the budgets, with what the request really cost
    /// (fees included; 0 for a request that failed before any cost).</summary>
    public async Task SettleAsync(BudgetReservation reservation, decimal billedUsd, CancellationToken cancellationToken)
    {
        loops.Settle(reservation.Session, billedUsd);
        await budgets.SettleAsync(reservation, billedUsd, cancellationToken);
    }
}
