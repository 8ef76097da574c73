namespace Router.Core.Routing;

/// <summary>Coarse complexity bands that learned weights and audits are kept per.</summary>
public enum ComplexityBand
{
    /// <summary>Complexity 1–3.</summary>
    Low,

    /// <summary>Complexity 4–6.</summary>
    Medium,

    /// <summary>Complexity 7–10.</summary>
    High,
}

/// <summary>Conversions for <see cref="ComplexityBand"/>.</summary>
public static class ComplexityBands
{
    /// <summary>The band of a (possibly fractional) complexity.</summary>
    public static ComplexityBand Of(double complexity) => complexity switch
    {
        < 3.5 => ComplexityBand.Low,
        < 6.5 => ComplexityBand.Medium,
        _ => ComplexityBand.High,
    };

    /// <summary>Wire name: <c>low</c>, <c>medium</c> or <c>high</c>.</summary>
    public static string ToWire(this ComplexityBand band) => band switch
    {
        ComplexityBand.Low => "low",
        ComplexityBand.Medium => "medium",
        _ => "high",
    };

    /// <summary>Parses a wire name.</summary>
    public static bool TryParse(string? value, out ComplexityBand band)
    {
        band = value switch
        {
            "low" => ComplexityBand.Low,
            "medium" => ComplexityBand.Medium,
            "high" => ComplexityBand.High,
            _ => (ComplexityBand)(-1),
        };
        return Enum.IsDefined(band);
    }
}
