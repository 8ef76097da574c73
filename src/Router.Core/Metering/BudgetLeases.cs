namespace Router.Core.Metering;

/// <summary>What a claim for a slice of a budget came to.</summary>
internal enum ClaimOutcome
{
    /// <summary>The holder's slice now covers its requests in flight and this one.</summary>
    Granted,

    /// <summary>Settled spend and the slices held (this holder's requests in flight among them) leave nothing: wait for them.</summary>
    Held,

    /// <summary>Settled spend has reached the cap.</summary>
    Spent,
}

/// <summary>The changes instances make to a scope's <see cref="SpendRow"/>, as pure functions of the row read, so the
/// store can run them again when another writer got in first. Every write drops other holders' expired slices.</summary>
internal static class BudgetLeases
{
    /// <summary>Grows <paramref name="holder"/>'s slice so it covers <paramref name="reservedUsd"/> (its requests in flight)
    /// plus <paramref name="estimateUsd"/>: by a <paramref name="share"/> of what no slice holds, at least what this
    /// request lacks, at most what is left. Like a single instance, a request is admitted while settled spend and the
    /// money set aside stay under the cap; so nobody is refused before the money is spent, and the one claim that
    /// crosses the cap passes it by less than its own request's cost, after which nobody can claim more.</summary>
    /// <remarks><paramref name="unrecordedUsd"/> is spend the holder settled but could not write: it counts as spent.</remarks>
    public static SpendRow? Claim(SpendRow row, string holder, decimal cap, decimal reservedUsd, decimal unrecordedUsd, decimal estimateUsd,
        decimal share, DateTimeOffset now, TimeSpan ttl, out ClaimOutcome outcome)
    {
        var spent = row.SpentUsd + unrecordedUsd;
        if (spent >= cap)
        {
            outcome = ClaimOutcome.Spent;
            return null;
        }

        var others = Others(row, holder, now);
        var held = row.LeaseOf(holder)?.AmountUsd ?? 0;

        // A cap lowered since the slice was claimed: it keeps what the holder's requests in flight set aside and what the
        // lower cap still leaves, and gives back the rest, instead of lending money the cap no longer has.
        var mine = Math.Min(held, Math.Max(reservedUsd, cap - spent - others.Sum(l => l.AmountUsd)));
        var unleased = cap - spent - others.Sum(l => l.AmountUsd) - mine;
        var shortfall = reservedUsd + estimateUsd - mine;
        if (shortfall > 0 && unleased + mine - reservedUsd <= 0)
        {
            outcome = ClaimOutcome.Held;
            return mine < held ? row with { Leases = mine > 0 ? [.. others, new BudgetLease(holder, mine, now + ttl)] : others } : null;
        }

        var grant = shortfall <= 0 ? 0
            : unleased >= shortfall ? Math.Min(unleased, Math.Max(shortfall, decimal.Round(unleased * share, 6, MidpointRounding.ToZero)))
            : shortfall;
        outcome = ClaimOutcome.Granted;
        return row with { Leases = [.. others, new BudgetLease(holder, mine + grant, now + ttl)] };
    }

    /// <summary>Moves a settled request's cost from <paramref name="holder"/>'s slice to settled spend, and renews the slice.
    /// What the request set aside beyond its cost stays in the slice for the next requests, except as far as the slice
    /// then holds more than the cap leaves (a claim that took the cap's last money crossed it): that much of it goes
    /// back, so what one request set aside past the cap is not lent to the next. Only this request's part is taken: the
    /// rest of the slice covers the holder's other requests in flight, whatever was claimed since they were counted.</summary>
    public static SpendRow Settle(SpendRow row, string holder, decimal cap, decimal actualUsd, decimal reservedUsd,
        DateTimeOffset now, TimeSpan ttl)
    {
        var others = Others(row, holder, now);
        var spent = row.SpentUsd + actualUsd;
        if (row.LeaseOf(holder) is not { } mine)
        {
            return row with { SpentUsd = spent, Leases = others };
        }

        var moved = Math.Min(Math.Min(actualUsd, reservedUsd), mine.AmountUsd);
        var left = mine.AmountUsd - moved;
        var unused = Math.Min(reservedUsd - moved, left);
        var pastCap = left - (cap - spent - others.Sum(l => l.AmountUsd));
        left -= Math.Max(0, Math.Min(unused, pastCap));
        return row with { SpentUsd = spent, Leases = left > 0 ? [.. others, new BudgetLease(holder, left, now + ttl)] : others };
    }

    /// <summary>Pushes the expiry of <paramref name="holder"/>'s slice out to <paramref name="ttl"/> from now; null when it holds none.</summary>
    public static SpendRow? Renew(SpendRow row, string holder, DateTimeOffset now, TimeSpan ttl) =>
        row.LeaseOf(holder) is { } mine ? row with { Leases = [.. Others(row, holder, now), mine with { ExpiresAt = now + ttl }] } : null;

    /// <summary>Gives back all of <paramref name="holder"/>'s slice beyond <paramref name="keepUsd"/> (what its requests in
    /// flight still need); null when there is nothing to give back.</summary>
    public static SpendRow? Release(SpendRow row, string holder, decimal keepUsd, DateTimeOffset now)
    {
        if (row.LeaseOf(holder) is not { } mine || (keepUsd > 0 && mine.AmountUsd <= keepUsd))
        {
            return null;
        }

        var others = Others(row, holder, now);
        return row with { Leases = keepUsd > 0 ? [.. others, mine with { AmountUsd = keepUsd }] : others };
    }

    // Other holders' live slices: one not renewed within its time to live belongs to an instance that stopped or lost
    // the store, and its money comes back.
    private static List<BudgetLease> Others(SpendRow row, string holder, DateTimeOffset now) =>
        row.Leases.Where(l => l.Holder != holder && l.ExpiresAt > now).ToList();
}
