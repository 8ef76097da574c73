using Router.Testing;
using Router.Core.Caching;

namespace Router.Core.Tests.Caching;

/// <summary>Audit: the index's bound is a count of entries, but a scope's first cell is allocated for
/// <c>InitialCapacity</c> (16) vectors whatever it holds. The scope is the fingerprint of everything but the final user
/// turn (earlier turns, system prompt, sampling parameters), so every turn of every conversation is a scope of its own,
/// and a client can make one per request by changing a temperature digit.</summary>
[Collection(nameof(HeapMeasuringCollection))]
public sealed class VectorIndexScopeMemoryTests
{
    [Fact]
    public void Entries_in_scopes_of_their_own_cost_about_what_the_documented_bytes_per_entry_say()
    {
        const int max = 2_000;
        using var index = new VectorIndex<int>(new VectorIndexOptions { MaxEntries = max });
        var data = new ClusteredVectors(384, 20, seed: 8);
        GC.Collect();
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);

        // One entry per scope: a conversation's turns, or one client varying its answer-shaping parameters.
        for (var i = 0; i < 10 * max; i++)
        {
            var scope = new CacheScope("tenant", $"ctx-{i}");
            index.Upsert(scope, $"e{i}", CacheKey.Compute(scope, $"p{i}"), data.Next(), i);
        }

        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        var documented = (long)max * index.BytesPerEntry;   // VectorIndexOptions.MaxEntries: "~2 KB per entry"

        Assert.Equal(max, index.Count);
        Assert.True(heapAfter - heapBefore <= 2 * documented, $"heap grew by {heapAfter - heapBefore:N0} bytes for {max} entries (documented {documented:N0}, estimated {index.EstimatedBytes:N0})");
    }
}
