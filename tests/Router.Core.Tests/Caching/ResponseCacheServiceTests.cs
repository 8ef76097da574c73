using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Caching;
using Router.Core.Chat;
using Router.Testing;

namespace Router.Core.Tests.Caching;

public sealed class ResponseCacheServiceTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private ResponseCacheService Cache(SemanticCacheOptions? options = null)
    {
        var index = new VectorIndex<CachedAnswer>(Options.Create(new VectorIndexOptions()), _time);
        var store = new InProcessResponseCacheStore(index, new MemoryCache(new MemoryCacheOptions { SizeLimit = 1_000_000 }));
        return new ResponseCacheService(store, new SemanticGuard(new SemanticGuardOptions()), Options.Create(options ?? new SemanticCacheOptions()), _time, NullLogger<ResponseCacheService>.Instance);
    }

    private static ChatRequest Request(string prompt, string system = "You are helpful.", string model = "auto")
    {
        var json = $$"""{"model":"{{model}}","messages":[{"role":"system","content":"{{system}}"},{"role":"user","content":"{{prompt}}"}]}""";
        Assert.True(ChatRequestParser.TryParse(Encoding.UTF8.GetBytes(json), out var request, out _));
        return request;
    }

    [Fact]
    public async Task Ten_thousand_probes_across_two_tenants_sending_the_same_prompts_never_cross_tenants()
    {
        var cache = Cache();
        var vectors = new ClusteredVectors(384, clusters: 50, seed: 7);
        var prompts = Enumerable.Range(0, 200).Select(i => $"shared prompt number {i} about topic {i % 17}").ToArray();
        var embeddings = prompts.Select(_ => vectors.Next()).ToArray();
        foreach (var tenant in new[] { "tenant-a", "tenant-b" })
        {
            for (var i = 0; i < prompts.Length; i++)
            {
                await cache.StoreAsync(tenant, Request(prompts[i]), embeddings[i], "test-model", "m", $"{tenant} answer {i}", "stop", 10, 10, null, CancellationToken.None);
            }
        }

        var random = new Random(11);
        var hits = 0;
        for (var probe = 0; probe < 10_000; probe++)
        {
            var tenant = probe % 2 == 0 ? "tenant-a" : "tenant-b";
            var i = random.Next(prompts.Length);
            var exact = random.Next(2) == 0;
            var vector = exact ? embeddings[i] : vectors.Near(embeddings[i], 0.95f);
            var hit = await cache.LookupAsync(tenant, Request(prompts[i]), vector, "test-model", null, CancellationToken.None);
            if (hit is not null)
            {
                hits++;
                Assert.Equal(tenant, hit.Answer.TenantId);
                Assert.StartsWith(tenant + " answer", hit.Answer.Content, StringComparison.Ordinal);
            }
        }

        Assert.True(hits >= 9_000, $"only {hits} hits: the probe would prove nothing");
    }

    [Fact]
    public async Task Answers_do_not_match_across_system_prompts_models_or_embedding_models()
    {
        var cache = Cache();
        var vector = new ClusteredVectors(384, 4).Next();
        await cache.StoreAsync("t", Request("summarise this"), vector, "model-a", "m", "answer", "stop", 1, 1, null, CancellationToken.None);

        Assert.NotNull(await cache.LookupAsync("t", Request("summarise this"), vector, "model-a", null, CancellationToken.None));
        Assert.Null(await cache.LookupAsync("t", Request("summarise this", system: "You are terse."), vector, "model-a", null, CancellationToken.None));
        Assert.Null(await cache.LookupAsync("t", Request("summarise this", model: "router/premium"), vector, "model-a", null, CancellationToken.None));
        Assert.Null(await cache.LookupAsync("t", Request("summarise this please"), vector, "model-b", null, CancellationToken.None));
    }

    [Fact]
    public async Task Truncated_filtered_and_empty_answers_are_never_stored()
    {
        var cache = Cache();
        var vector = new ClusteredVectors(384, 4).Next();
        foreach (var (content, finish) in new[] { ("cut", "length"), ("hidden", "content_filter"), ("", "stop"), ("calls", "tool_calls") })
        {
            await cache.StoreAsync("t", Request("q " + finish), vector, "m", "m", content, finish, 1, 1, null, CancellationToken.None);
            Assert.Null(await cache.LookupAsync("t", Request("q " + finish), vector, "m", null, CancellationToken.None));
        }
    }

    [Fact]
    public async Task Answers_expire_after_their_time_to_live_and_a_request_may_only_raise_the_threshold()
    {
        var cache = Cache();
        var vectors = new ClusteredVectors(384, 4);
        var vector = vectors.Next();
        await cache.StoreAsync("t", Request("what is the boiling point of water at sea level"), vector, "m", "m", "100 °C", "stop", 1, 1, TimeSpan.FromHours(1), CancellationToken.None);
        var near = vectors.Near(vector, 0.9f);

        Assert.NotNull(await cache.LookupAsync("t", Request("what is the boiling point of water at sea level?"), near, "m", 0.5f, CancellationToken.None));
        Assert.Null(await cache.LookupAsync("t", Request("what is the boiling point of water at sea level?"), near, "m", 0.99f, CancellationToken.None));

        _time.Advance(TimeSpan.FromHours(2));
        Assert.Null(await cache.LookupAsync("t", Request("what is the boiling point of water at sea level"), vector, "m", null, CancellationToken.None));
    }
}
