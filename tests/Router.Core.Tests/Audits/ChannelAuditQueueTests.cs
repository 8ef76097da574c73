using Router.Core.Audits;
using Router.Infrastructure.Audits;

namespace Router.Core.Tests.Audits;

public sealed class ChannelAuditQueueTests
{
    [Fact]
    public async Task A_redrive_into_a_full_channel_keeps_the_jobs_it_could_not_put_back()
    {
        var queue = new ChannelAuditQueue();
        for (var i = 0; i < 3; i++)
        {
            queue.Poison(Job("poisoned-" + i), DateTimeOffset.UtcNow);
        }

        // New samples fill the channel while nothing reads it (a judge outage backs it up).
        for (var i = 0; i < ChannelAuditQueue.Capacity + 5; i++)
        {
            await queue.EnqueueAsync(Job("sampled-" + i), CancellationToken.None);
        }

        var full = await queue.RedriveAsync(10, CancellationToken.None);
        Assert.Equal(0, full.Redriven);
        Assert.Equal(3, full.Remaining);

        // Two places free up: exactly two jobs go back, the third stays poisoned.
        Assert.True(queue.Reader.TryRead(out _));
        Assert.True(queue.Reader.TryRead(out _));
        var partial = await queue.RedriveAsync(10, CancellationToken.None);
        Assert.Equal(2, partial.Redriven);
        Assert.Equal(1, partial.Remaining);
        Assert.Equal(ChannelAuditQueue.Capacity, queue.Reader.Count);
    }

    private static AuditJob Job(string requestId) => new()
    {
        RequestId = requestId,
        TenantId = "acme",
        Timestamp = DateTimeOffset.UtcNow,
        Task = "qa",
        Band = "low",
        Model = "small",
        Tier = "economy",
        Reason = "sampled",
        Messages = [],
        Answer = "",
    };
}
