using Router.Core.Chat;

namespace Router.Core.Tests.Chat;

public sealed class RouterErrorTests
{
    [Fact]
    public void A_spent_budget_says_do_not_retry_and_a_budget_held_by_requests_in_flight_says_retry()
    {
        var spent = new RouterError(402, "insufficient_quota", "budget_exceeded", "The tenant's daily budget is spent.");
        var reserved = new RouterError(402, "insufficient_quota", "budget_exceeded", "The budget is fully reserved by requests in flight; try again shortly.", RetryAfter: TimeSpan.FromSeconds(5));
        var loop = new RouterError(429, "rate_limit_error", "loop_detected", "loop", RetryAfter: TimeSpan.FromSeconds(30));

        Assert.True(spent.RetryIsFutile);
        Assert.False(spent.RetryWillHelp);
        Assert.False(reserved.RetryIsFutile);
        Assert.True(reserved.RetryWillHelp);
        Assert.True(loop.RetryIsFutile);
        Assert.False(loop.RetryWillHelp);
    }
}
