using System.Globalization;

namespace Router.Evaluation;

/// <summary>Invariant-culture formatting for reports.</summary>
internal static class Format
{
    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    public static string Pct(double? value, int decimals = 1) =>
        value is { } v && !double.IsNaN(v)
            ? v.ToString("P" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture).Replace(" ", "", StringComparison.Ordinal)
            : "n/a";
}
