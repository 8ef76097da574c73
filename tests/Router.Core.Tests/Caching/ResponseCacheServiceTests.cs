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
        var store = new InProcessResponseCacheStore(index, new MemoryCache(new MemoryCacheOptions { SizeLimit = 64L << 20, Clock = new TimeProviderClock(_time) }), 64L << 20, _time);
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
        foreach (var (content, finish) in new[] { ("cut", "length"), ("hidden", "content_filter"), ("", "stop"), ("calls", "tool_calls"), ("unfinished", (string?)null) })
        {
            await cache.StoreAsync("t", Request("q " + finish), vector, "m", "m", content, finish, 1, 1, null, CancellationToken.None);
            Assert.Null(await cache.LookupAsync("t", Request("q " + finish), vector, "m", null, CancellationToken.None));
        }

        // The control: a finished answer is stored.
        await cache.StoreAsync("t", Request("q done"), vector, "m", "m", "done", "stop", 1, 1, null, CancellationToken.None);
        Assert.NotNull(await cache.LookupAsync("t", Request("q done"), vector, "m", null, CancellationToken.None));
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

    private static ChatRequest Json(string json)
    {
        Assert.True(ChatRequestParser.TryParse(Encoding.UTF8.GetBytes(json), out var request, out var error), error?.Message);
        return request;
    }

    private static string WithImage(string text, string url, string extra = "") =>
        $$$"""{"model":"auto"{{{extra}}},"messages":[{"role":"user","content":[{"type":"text","text":"{{{text}}}"},{"type":"image_url","image_url":{"url":"{{{url}}}"}}]}]}""";

    [Fact]
    public void Images_files_and_provider_extensions_are_part_of_the_scope()
    {
        var cat = ResponseCacheService.ScopeOf(Json(WithImage("What animal is in this photo?", "https://example.com/cat.jpg")));

        Assert.Equal(cat, ResponseCacheService.ScopeOf(Json(WithImage("What animal is in this photo?", "https://example.com/cat.jpg"))));
        Assert.NotEqual(cat, ResponseCacheService.ScopeOf(Json(WithImage("What animal is in this photo?", "https://example.com/dog.jpg"))));
        Assert.NotEqual(cat, ResponseCacheService.ScopeOf(Json("""{"model":"auto","messages":[{"role":"user","content":"What animal is in this photo?"}]}""")));
        Assert.NotEqual(cat, ResponseCacheService.ScopeOf(Json(WithImage("What animal is in this photo?", "https://example.com/cat.jpg", extra: ""","top_k":5"""))));
        Assert.Equal(cat, ResponseCacheService.ScopeOf(Json(WithImage("What animal is in this photo?", "https://example.com/cat.jpg", extra: ""","user":"u1","service_tier":"flex","store":true"""))));

        static string File(string id) => $$$"""{"model":"auto","messages":[{"role":"user","content":[{"type":"text","text":"Summarize the attached contract"},{"type":"file","file":{"file_id":"{{{id}}}"}}]}]}""";
        Assert.NotEqual(ResponseCacheService.ScopeOf(Json(File("file-AAA"))), ResponseCacheService.ScopeOf(Json(File("file-BBB"))));

        // An earlier turn's image counts as well as the last one's.
        static string Earlier(string url) => $$$"""{"model":"auto","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"{{{url}}}"}}]},{"role":"assistant","content":"A cat."},{"role":"user","content":"How old is it?"}]}""";
        Assert.NotEqual(ResponseCacheService.ScopeOf(Json(Earlier("https://example.com/a.jpg"))), ResponseCacheService.ScopeOf(Json(Earlier("https://example.com/b.jpg"))));
    }

    [Theory]
    [InlineData("""{"model":"auto","messages":[{"role":"user","content":"What is 2+2?"}]}""")]
    [InlineData("""{"model":"gpt-4o-mini","temperature":0.2,"messages":[{"role":"system","content":"Answer in Ελληνικά, briefly 🙂"},{"role":"user","content":"Hi"},{"role":"assistant","content":"Γεια!"},{"role":"user","content":"How are you?"}]}""")]
    [InlineData("""{"model":"Auto","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://example.com/a.jpg"}}]}]}""")]
    public void The_scope_hashes_the_same_text_as_answers_already_stored_were_keyed_by(string json)
    {
        // Stored answers (Cosmos DB, Tables) carry the scope they were written under: a change in how it is computed
        // would orphan every one of them. This is the definition, written out plainly.
        var request = Json(json);
        var text = new StringBuilder().Append(request.Model.ToUpperInvariant()).Append('\u001f').Append(request.AnswerShapingJson).Append('\u001f');
        var last = -1;
        for (var i = request.Messages.Count - 1; i >= 0 && last < 0; i--)
        {
            last = request.Messages[i].Role == "user" ? i : -1;
        }

        for (var i = 0; i < request.Messages.Count; i++)
        {
            var m = request.Messages[i];
            _ = i == last
                ? text.Append("last\u001e").Append(m.Attachments).Append('\u001d')
                : text.Append(m.Role).Append('\u001e').Append(m.Text.Length).Append(':').Append(m.Text).Append('\u001e').Append(m.Attachments).Append('\u001d');
        }

        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..32];
        Assert.Equal(expected, ResponseCacheService.ScopeOf(request));
    }

    [Fact]
    public void The_parser_marks_requests_for_logprobs_which_a_cached_answer_cannot_replay()
    {
        Assert.True(Json("""{"model":"auto","logprobs":true,"messages":[{"role":"user","content":"hi"}]}""").WantsLogprobs);
        Assert.True(Json("""{"model":"auto","top_logprobs":3,"messages":[{"role":"user","content":"hi"}]}""").WantsLogprobs);
        Assert.False(Json("""{"model":"auto","logprobs":false,"messages":[{"role":"user","content":"hi"}]}""").WantsLogprobs);
    }

    [Fact]
    public async Task An_answer_the_caller_does_not_accept_is_neither_an_exact_nor_a_semantic_hit()
    {
        var cache = Cache();
        var vectors = new ClusteredVectors(384, 4);
        var vector = vectors.Next();
        await cache.StoreAsync("t", Request("what is the boiling point of water at sea level"), vector, "m", "economy-model", "100 °C", "stop", 1, 1, null, CancellationToken.None);

        Assert.NotNull(await cache.LookupAsync("t", Request("what is the boiling point of water at sea level"), vector, "m", null, CancellationToken.None, a => a.Model == "economy-model"));
        Assert.Null(await cache.LookupAsync("t", Request("what is the boiling point of water at sea level"), vector, "m", null, CancellationToken.None, a => a.Model != "economy-model"));
        Assert.Null(await cache.LookupAsync("t", Request("what is the boiling point of water at sea level?"), vectors.Near(vector, 0.95f), "m", 0.5f, CancellationToken.None, a => a.Model != "economy-model"));
        Assert.NotNull(await cache.LookupAsync("t", Request("what is the boiling point of water at sea level?"), vectors.Near(vector, 0.95f), "m", 0.5f, CancellationToken.None));
    }

    [Fact]
    public async Task Lookups_in_the_in_process_store_arm_no_timeout_timer()
    {
        // The in-process store answers in the calling thread: a LookupTimeout timer (and its token sources) per store call
        // would only cost the hot path, twice per request.
        var timers = new TimerCountingTimeProvider(_time);
        var index = new VectorIndex<CachedAnswer>(Options.Create(new VectorIndexOptions()), _time);
        var store = new InProcessResponseCacheStore(index, new MemoryCache(new MemoryCacheOptions { SizeLimit = 64L << 20, Clock = new TimeProviderClock(_time) }), 64L << 20, _time);
        var cache = new ResponseCacheService(store, new SemanticGuard(new SemanticGuardOptions()), Options.Create(new SemanticCacheOptions()), timers, NullLogger<ResponseCacheService>.Instance);
        var vectors = new ClusteredVectors(384, 4);
        var vector = vectors.Next();
        await cache.StoreAsync("t", Request("what is the boiling point of water at sea level"), vector, "m", "economy-model", "100 °C", "stop", 1, 1, null, CancellationToken.None);

        Assert.NotNull(await cache.LookupAsync("t", Request("what is the boiling point of water at sea level"), vector, "m", null, CancellationToken.None));
        Assert.Null(await cache.LookupAsync("t", Request("how tall is the eiffel tower in metres"), vectors.Next(), "m", null, CancellationToken.None));

        Assert.Equal(0, timers.Created);
    }

    private sealed class TimerCountingTimeProvider(TimeProvider inner) : TimeProvider
    {
        public int Created { get; private set; }

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override long GetTimestamp() => inner.GetTimestamp();

        public override long TimestampFrequency => inner.TimestampFrequency;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Created++;
            return inner.CreateTimer(callback, state, dueTime, period);
        }
    }
}
