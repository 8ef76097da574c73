using System.Globalization;
using Router.Infrastructure.Providers;

namespace Router.Core.Tests.Execution;

public sealed class RetryAfterHeaderTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-12-07T12:00:00Z", CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("retry-after-ms", "5000", 5)]
    [InlineData("x-ms-retry-after-ms", "250", 0.25)]
    [InlineData("Retry-After", "7", 7)]
    [InlineData("Retry-After", "Mon, 07 Dec 2026 12:00:30 GMT", 30)]
    public void A_hint_is_read_as_the_wait_it_names(string name, string value, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), RetryAfterHeader.Read(h => h == name ? value : null, Now));

    [Theory]
    [InlineData("retry-after-ms", "1e300")]
    [InlineData("retry-after-ms", "Infinity")]
    [InlineData("x-ms-retry-after-ms", "1e17")]
    [InlineData("Retry-After", "2147483647")]
    [InlineData("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT")]
    public void A_hint_out_of_range_is_read_as_a_day_rather_than_thrown(string name, string value) =>
        Assert.Equal(RetryAfterHeader.MaxHint, RetryAfterHeader.Read(h => h == name ? value : null, Now));

    [Theory]
    [InlineData("retry-after-ms", "NaN")]
    [InlineData("retry-after-ms", "-5")]
    [InlineData("Retry-After", "soon")]
    public void A_hint_that_names_no_wait_is_none(string name, string value) =>
        Assert.Null(RetryAfterHeader.Read(h => h == name ? value : null, Now));
}
