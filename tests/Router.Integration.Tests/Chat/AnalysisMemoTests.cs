using System.Net.Http.Headers;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Chat;

/// <summary>A repeated request reuses its first analysis (profile and embedding): the embedding model runs once.</summary>
public sealed class AnalysisMemoTests
{
    private static async Task<(SimulatedProvider Simulator, RouterServerHost Router, CountingEmbeddings Embeddings)> StartAsync(int memoEntries, bool failFirst = false)
    {
        var simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Audits:Enabled"] = "false";
        settings["Router:Analysis:MemoEntries"] = memoEntries.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var embeddings = new CountingEmbeddings(failFirst);
        var router = await RouterServerHost.StartAsync(settings, builder =>
            builder.Services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(embeddings));
        embeddings.Arm();   // the host's start-up warm-up embedded a sample already; count from here
        return (simulator, router, embeddings);
    }

    private static async Task<HttpResponseMessage> AskAsync(RouterServerHost router, string prompt, string? cacheControl = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(TestJson.Chat("auto", prompt)) };
        if (cacheControl is not null)
        {
            request.Headers.TryAddWithoutValidation("Cache-Control", cacheControl);
        }

        var response = await router.Http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return response;
    }

    private static string Header(HttpResponseMessage response, string name) => response.Headers.GetValues(name).Single();

    [Fact]
    public async Task An_exact_hit_is_served_without_embedding_or_analysing_the_prompt_again()
    {
        var (simulator, router, embeddings) = await StartAsync(memoEntries: 100);
        await using var _ = simulator;
        await using var __ = router;
        const string Prompt = "Write a haiku about the first snow on a quiet mountain village.";

        using var first = await AskAsync(router, Prompt);
        using var second = await AskAsync(router, Prompt);
        using var other = await AskAsync(router, "Explain how a hash map handles collisions, with a short example in Python.");

        Assert.Equal("miss", Header(first, "x-router-cache"));
        Assert.Equal("exact", Header(second, "x-router-cache"));
        Assert.Equal(2, embeddings.Calls);
        foreach (var name in new[] { "x-router-task", "x-router-complexity", "x-router-risk" })
        {
            Assert.Equal(Header(first, name), Header(second, name));
        }

        Assert.NotEqual(Header(first, "x-router-task"), Header(other, "x-router-task"));
    }

    [Fact]
    public async Task With_the_memo_off_every_request_is_embedded()
    {
        var (simulator, router, embeddings) = await StartAsync(memoEntries: 0);
        await using var _ = simulator;
        await using var __ = router;
        const string Prompt = "Write a haiku about the first snow on a quiet mountain village.";

        using var first = await AskAsync(router, Prompt);
        using var second = await AskAsync(router, Prompt);

        Assert.Equal("exact", Header(second, "x-router-cache"));
        Assert.Equal(2, embeddings.Calls);
    }

    [Fact]
    public async Task An_analysis_made_while_the_embedding_model_failed_is_not_remembered()
    {
        var (simulator, router, embeddings) = await StartAsync(memoEntries: 100, failFirst: true);
        await using var _ = simulator;
        await using var __ = router;
        const string Prompt = "Summarise the plot of Hamlet in three sentences for a ten-year-old.";

        using var first = await AskAsync(router, Prompt, cacheControl: "no-store");
        using var second = await AskAsync(router, Prompt, cacheControl: "no-store");
        using var third = await AskAsync(router, Prompt, cacheControl: "no-store");

        // The first call failed and was not memoised; the second succeeded and was; the third reused it.
        Assert.Equal(2, embeddings.Calls);
    }

    /// <summary>A deterministic stand-in for the embedding model (hashed words, normalised) that counts its calls.</summary>
    /// <summary>Embeds by hashing words, and counts its calls from <see cref="Arm"/> on (the host's start-up warm-up
    /// embeds a sample first); with <c>failFirst</c> the first counted call throws.</summary>
    internal sealed class CountingEmbeddings(bool failFirst = false) : IEmbeddingGenerator<string, Embedding<float>>
    {
        private int _calls;
        private bool _armed;

        public int Calls => Volatile.Read(ref _calls);

        public void Arm()
        {
            Volatile.Write(ref _calls, 0);
            Volatile.Write(ref _armed, true);
        }

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _calls) == 1 && failFirst && Volatile.Read(ref _armed))
            {
                throw new InvalidOperationException("model unavailable");
            }

            var result = new GeneratedEmbeddings<Embedding<float>>();
            foreach (var text in values)
            {
                var vector = new float[384];
                foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    vector[(int)((uint)StringComparer.Ordinal.GetHashCode(word.ToLowerInvariant()) % 384)] += 1f;
                }

                var norm = MathF.Sqrt(vector.Sum(v => v * v));
                result.Add(new Embedding<float>(vector.Select(v => norm > 0 ? v / norm : 0f).ToArray()));
            }

            return Task.FromResult(result);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceType == typeof(EmbeddingGeneratorMetadata) ? new EmbeddingGeneratorMetadata("counting", null, "counting-384") : null;

        public void Dispose()
        {
        }
    }
}
