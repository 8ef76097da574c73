namespace Router.Core.Metering;

/// <summary>A slice of a budget that one router instance has claimed in the shared row: the instance admits requests
/// against it without asking the store, until it expires or is given back.</summary>
/// <param name="Holder">The instance that holds it.</param>
/// <param name="AmountUsd">What is left of the slice (including what the holder's requests in flight have set aside).</param>
/// <param name="ExpiresAt">When other instances may take it back (the holder renews it while it uses it).</param>
public sealed record BudgetLease(string Holder, decimal AmountUsd, DateTimeOffset ExpiresAt);

/// <summary>One budget scope's shared state: settled spend and the slices instances hold. Settled spend plus the live
/// slices is what no instance may claim again.</summary>
/// <param name="SpentUsd">Spend settled so far.</param>
/// <param name="Leases">Slices held by instances, one per holder (expired ones may still be listed until a writer drops them).</param>
/// <param name="Version">Raised by one on every write, so an instance can tell which of two answers is newer.</param>
public sealed record SpendRow(decimal SpentUsd, IReadOnlyList<BudgetLease> Leases, long Version = 0)
{
    /// <summary>A scope nothing was written to yet.</summary>
    public static SpendRow Empty { get; } = new(0, []);

    /// <summary>The slice <paramref name="holder"/> holds, if any (expired or not).</summary>
    public BudgetLease? LeaseOf(string holder)
    {
        foreach (var lease in Leases)
        {
            if (lease.Holder == holder)
            {
                return lease;
            }
        }

        return null;
    }
}

/// <summary>Settled spend and claimed slices per budget scope (tenant or key, per UTC day or month), shared by every
/// router instance.</summary>
public interface ISpendStore
{
    /// <summary>The row of <paramref name="scope"/> (<see cref="SpendRow.Empty"/> when nothing was written to it).</summary>
    ValueTask<SpendRow> GetAsync(string scope, CancellationToken cancellationToken);

    /// <summary>Changes the row of <paramref name="scope"/> under optimistic concurrency: reads it, applies
    /// <paramref name="change"/> and writes the result unless another writer got in first, in which case it reads again
    /// and retries (so <paramref name="change"/> may run more than once and must depend on its argument alone). A change
    /// that returns null leaves the row as it is. A non-empty <paramref name="operationId"/> names the change: one that
    /// already committed (a retry of a write whose answer was lost, however much later) is not applied again. A name is
    /// for one change: once a write of it has been answered, it is not written again (a store may forget it then). Returns the row as written (its
    /// <see cref="SpendRow.Version"/> one higher) or, when nothing was written, as read.</summary>
    ValueTask<SpendRow> UpdateAsync(string scope, string operationId, Func<SpendRow, SpendRow?> change, CancellationToken cancellationToken);
}

/// <summary>Shorthands over <see cref="ISpendStore"/>.</summary>
public static class SpendStoreExtensions
{
    /// <summary>Adds <paramref name="amountUsd"/> to the settled spend of <paramref name="scope"/>, once per
    /// <paramref name="operationId"/>.</summary>
    public static async ValueTask AddAsync(this ISpendStore store, string scope, decimal amountUsd, string operationId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        await store.UpdateAsync(scope, operationId, row => row with { SpentUsd = row.SpentUsd + amountUsd }, cancellationToken);
    }
}
