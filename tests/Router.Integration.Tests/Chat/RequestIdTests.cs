using System.Collections.Concurrent;
using System.Globalization;
using Router.Http;

namespace Router.Integration.Tests.Chat;

public sealed class RequestIdTests
{
    [Fact]
    public void A_request_id_is_req_and_a_version_7_uuid_carrying_the_time()
    {
        var now = new DateTimeOffset(2026, 12, 6, 21, 50, 1, 234, TimeSpan.Zero);

        var id = RouterHttpContext.NewRequestId(now);

        Assert.Matches("^req_[0-9a-f]{32}$", id);
        var uuid = Guid.ParseExact(id[4..], "N");
        Assert.Equal(7, uuid.Version);
        Assert.Equal(0b10, uuid.Variant >> 2);
        Assert.Equal(now.ToUnixTimeMilliseconds(), long.Parse(id[4..16], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Request_ids_made_at_the_same_millisecond_on_many_threads_are_unique_and_sort_by_time()
    {
        var now = DateTimeOffset.UtcNow;
        var ids = new ConcurrentBag<string>();
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 25_000; i++)
            {
                ids.Add(RouterHttpContext.NewRequestId(now));
            }
        });

        Assert.Equal(200_000, ids.Distinct().Count());
        var later = RouterHttpContext.NewRequestId(now.AddMilliseconds(1));
        Assert.All(ids, id => Assert.True(string.CompareOrdinal(id, later) < 0));
    }
}
