using Microsoft.Extensions.Time.Testing;
using Router.Core.Audits;

namespace Router.Core.Tests.Audits;

public sealed class AuditAllowanceTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static int Taken(AuditAllowance allowance, int limit, int attempts) =>
        Enumerable.Range(0, attempts).Count(_ => allowance.TryTake(limit));

    [Fact]
    public void A_minute_allows_the_limit_and_refuses_the_rest()
    {
        var allowance = new AuditAllowance(_time);

        Assert.Equal(10, Taken(allowance, 10, 50));
        Assert.False(allowance.TryTake(10));
    }

    [Fact]
    public void The_allowance_refills_with_time_and_never_past_one_minute()
    {
        var allowance = new AuditAllowance(_time);
        Assert.Equal(60, Taken(allowance, 60, 100));

        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(10, Taken(allowance, 60, 100));

        // An hour's quiet buys one minute's allowance, not sixty.
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(60, Taken(allowance, 60, 1000));
    }

    [Fact]
    public void A_reserve_is_left_in_the_allowance_for_those_who_take_without_one()
    {
        var allowance = new AuditAllowance(_time);

        Assert.Equal(8, Enumerable.Range(0, 20).Count(_ => allowance.TryTake(10, reserve: 2)));
        Assert.Equal(2, Taken(allowance, 10, 20));
    }

    [Fact]
    public void A_lower_limit_set_while_running_applies_to_the_allowance_left()
    {
        var allowance = new AuditAllowance(_time);
        Assert.Equal(5, Taken(allowance, 100, 5));

        Assert.Equal(3, Taken(allowance, 3, 10));
    }
}
