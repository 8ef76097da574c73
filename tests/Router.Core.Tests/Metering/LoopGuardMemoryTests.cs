using System.Globalization;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Metering;
using Router.Core.Tests.Caching;

namespace Router.Core.Tests.Metering;

/// <summary>Audit: what the loop guard keeps per request. Near-identical requests are only ever compared with a session's
/// last <see cref="LoopGuard.SimilarityDepth"/> embeddings, yet every request remembered for exact-repeat counting (up to
/// <see cref="LoopGuard.MaxTrackedPerSession"/> per session) holds on to its embedding too; and a session that goes quiet
/// keeps all it remembered until it is swept as idle (<see cref="LoopGuardOptions.SessionIdleExpiry"/>, 1 h), not for the
/// window (2 min), since a session's requests only leave its window on its own next request.</summary>
[Collection(nameof(HeapMeasuringCollection))]
public sealed class LoopGuardMemoryTests
{
    private const int Dimensions = 384;   // all-MiniLM-L6-v2, the default embedding model
    private static readonly TenantPolicy Policy = new() { TenantId = "t" };
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));

    private static float[] Embedding(int i)
    {
        var vector = new float[Dimensions];
        vector[i % Dimensions] = 1;
        vector[(i / Dimensions) % Dimensions] += 0.5f;
        return vector;
    }

    [Fact]
    public void A_busy_session_holds_only_the_embeddings_it_compares_with()
    {
        var guard = new LoopGuard(Options.Create(new LoopGuardOptions { MaxRepeats = 1_000, SimilarityThreshold = 1.0 }), _time);
        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);

        // One key without x-session-id is one session: 16,384 different requests within the window (137 a second).
        for (var i = 0; i < LoopGuard.MaxTrackedPerSession; i++)
        {
            Assert.Null(guard.Check("t|k|key", Policy, (ulong)i + 1, Embedding(i)));
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(guard);

        // Times and hashes of 16,384 requests are ~3 MB; their 16,384 embeddings another 25 MB, of which 32 are ever read.
        Assert.True(after - before < 8_000_000, $"one session holds {after - before:N0} bytes");
    }

    [Fact]
    public void Quiet_sessions_let_go_of_their_requests_once_they_leave_the_window()
    {
        var options = new LoopGuardOptions { MaxRepeats = 1_000, SimilarityThreshold = 1.0 };
        var guard = new LoopGuard(Options.Create(options), _time);
        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);

        // 1,000 agent runs of 40 requests each (an x-session-id per run), all finished.
        for (var s = 0; s < 1_000; s++)
        {
            for (var i = 0; i < 40; i++)
            {
                guard.Check($"t|s|run-{s}", Policy, (ulong)((s * 40) + i + 1), Embedding((s * 40) + i));
            }
        }

        var busy = GC.GetTotalMemory(forceFullCollection: true) - before;

        // Ten minutes on (five windows), other traffic goes on: 8,192 checks, so the periodic sweep has run twice.
        _time.Advance(TimeSpan.FromMinutes(10));
        for (var i = 0; i < 8_192; i++)
        {
            guard.Check("t|s|other", Policy, 1_000_000UL + (ulong)(i % 100), default);
        }

        var quiet = GC.GetTotalMemory(forceFullCollection: true) - before;
        GC.KeepAlive(guard);

        // What must stay for an hour is a session's spend (none here): a few hundred bytes each, not 40 requests and embeddings.
        Assert.True(quiet < busy / 5, $"1,000 finished sessions held {busy:N0} bytes, and still {quiet:N0} bytes five windows later");
    }
}
