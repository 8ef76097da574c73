using System.ComponentModel.DataAnnotations;

namespace Router.Core.Metering;

/// <summary>How router instances share the budgets: each admits requests against a slice of a cap it has claimed in
/// the shared spend store.</summary>
public sealed class BudgetOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Router:Budgets";

    /// <summary>How long a claimed slice lasts unless its holder renews it (default 30 s): the most the slice of an instance
    /// that stopped without giving it back stays out of use. Instances renew their slices at a sixth of it, give back a
    /// slice unused for as long, and stop using one a third of it before it expires, so clocks may differ by a few seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:06", "01:00:00")]
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The share of what no slice holds yet that an instance claims at once (default 0.1), never less than the
    /// request in hand needs. Larger slices mean fewer claims but more of a cap held by instances that may not use it.</summary>
    [Range(0.01, 1.0)]
    public double LeaseShare { get; set; } = 0.1;
}
