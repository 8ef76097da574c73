using System.Globalization;

namespace Router.Evaluation;

/// <summary>Invariant-culture formatting for reports; a metric that is undefined on its rows (NaN, infinite) prints as "n/a".</summary>
internal static class Format
{
    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    public static string Pct(double? value, int decimals = 1) =>
        value is { } v && double.IsFinite(v)
            ? v.ToString("P" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture).Replace(" ", "", StringComparison.Ordinal)
            : "n/a";

    /// <summary><paramref name="value"/> in <paramref name="format"/> ("F3"), or "n/a".</summary>
    public static string Num(double value, string format = "F3") =>
        double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    /// <summary>The mean, or NaN when there is nothing to average.</summary>
    public static double Mean(IReadOnlyCollection<double> values) => values.Count == 0 ? double.NaN : values.Average();
}
