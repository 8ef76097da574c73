namespace Router.Core.Catalog;

/// <summary>Price/quality class of a model; routing picks a tier first, then a model inside it.</summary>
public enum ModelTier
{
    /// <summary>Cheapest models, for simple requests.</summary>
    Economy = 0,

    /// <summary>Mid-priced general models.</summary>
    Standard = 1,

    /// <summary>The strongest and most expensive models; also the savings baseline.</summary>
    Premium = 2,
}

/// <summary>Lower-case wire names of <see cref="ModelTier"/>.</summary>
public static class ModelTierNames
{
    private static readonly ModelTier[] All = [ModelTier.Economy, ModelTier.Standard, ModelTier.Premium];

    /// <summary>The name used in headers, JSON and aliases (<c>economy</c>, <c>standard</c>, <c>premium</c>).</summary>
    public static string ToWire(this ModelTier tier) => tier switch
    {
        ModelTier.Economy => "economy",
        ModelTier.Standard => "standard",
        _ => "premium",
    };

    /// <summary>Parses a wire or configuration name (<c>economy</c>, <c>standard</c>, <c>premium</c>), case-insensitively;
    /// numbers and comma-separated lists, which <see cref="Enum.TryParse{TEnum}(string?, bool, out TEnum)"/> would take, are refused.</summary>
    public static bool TryParse(string? value, out ModelTier tier)
    {
        foreach (var candidate in All)
        {
            if (string.Equals(value, candidate.ToWire(), StringComparison.OrdinalIgnoreCase))
            {
                tier = candidate;
                return true;
            }
        }

        tier = default;
        return false;
    }
}
