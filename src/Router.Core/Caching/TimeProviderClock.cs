using Microsoft.Extensions.Internal;

namespace Router.Core.Caching;

/// <summary>A <see cref="TimeProvider"/> as the clock a <c>MemoryCache</c> expires entries by, so its lifetimes follow
/// the same time as the rest of the router (and a fake one in tests).</summary>
internal sealed class TimeProviderClock(TimeProvider time) : ISystemClock
{
    public DateTimeOffset UtcNow => time.GetUtcNow();
}
