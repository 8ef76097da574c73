using System.Globalization;

namespace Router.Infrastructure.Providers;

/// <summary>The wait a provider asks for before the next call, whatever client read its answer.</summary>
internal static class RetryAfterHeader
{
    /// <summary>The longest wait a hint is read as.</summary>
    public static readonly TimeSpan MaxHint = TimeSpan.FromDays(1);

    /// <summary>Reads <c>retry-after-ms</c>, <c>x-ms-retry-after-ms</c> and <c>Retry-After</c> (seconds or an HTTP date), in
    /// that order, through <paramref name="header"/> (a header's value by name, or null).</summary>
    public static TimeSpan? Read(Func<string, string?> header, DateTimeOffset now)
    {
        foreach (var name in (ReadOnlySpan<string>)["retry-after-ms", "x-ms-retry-after-ms"])
        {
            // At most a day: a hint past TimeSpan's range ("1e300", "Infinity") would throw where it is read.
            if (double.TryParse(header(name), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms >= 0)
            {
                return ms < MaxHint.TotalMilliseconds ? TimeSpan.FromMilliseconds(ms) : MaxHint;
            }
        }

        var value = header("Retry-After")?.Trim();
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return seconds < MaxHint.TotalSeconds ? TimeSpan.FromSeconds(seconds) : MaxHint;
        }

        if (DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            var wait = date - now;
            return wait <= TimeSpan.Zero ? TimeSpan.Zero : wait < MaxHint ? wait : MaxHint;
        }

        return null;
    }
}
