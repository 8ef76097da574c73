using System.Net.Http.Headers;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Chat;

/// <summary>
/// The analysis memo is keyed by the messages alone, not the tenant: a prompt any tenant sent recently is analysed and
/// embedded for free when another tenant sends it. The embedding is the slowest local stage, so one request tells a
/// tenant, by its latency, whether some other tenant asked exactly that (a name, a deal, a diagnosis) in the last
/// minutes. The response cache is scoped by tenant for this reason; the memo in front of it is not.
/// </summary>
public sealed class AnalysisMemoIsolationTests
{
    [Fact]
    public async Task A_prompt_another_tenant_sent_is_analysed_and_embedded_afresh()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Audits:Enabled"] = "false";
        settings["Router:ApiKeys:0:Tenant"] = "tenant-a";
        settings["Router:ApiKeys:0:Key"] = "memo-tenant-a-key-01";
        settings["Router:ApiKeys:1:Tenant"] = "tenant-b";
        settings["Router:ApiKeys:1:Key"] = "memo-tenant-b-key-01";
        var embeddings = new CountingEmbeddings();
        await using var router = await RouterServerHost.StartAsync(settings, builder =>
            builder.Services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(embeddings));
        embeddings.Reset();   // the host's start-up warm-up embedded a sample already
        const string Prompt = "Draft a confidential note on the planned acquisition of Northwind Traders by Contoso";

        using var tenantA = await AskAsync(router, "memo-tenant-a-key-01", Prompt);
        var afterA = embeddings.Calls;
        using var tenantB = await AskAsync(router, "memo-tenant-b-key-01", Prompt);

        Assert.Equal("miss", tenantB.Headers.GetValues("x-router-cache").Single());
        Assert.Equal(1, afterA);
        Assert.Equal(2, embeddings.Calls);
    }

    private static async Task<HttpResponseMessage> AskAsync(RouterServerHost router, string key, string prompt)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(TestJson.Chat("auto", prompt)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var response = await router.Http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return response;
    }

    /// <summary>A bag-of-words embedding that counts its calls.</summary>
    private sealed class CountingEmbeddings : IEmbeddingGenerator<string, Embedding<float>>
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public void Reset() => Volatile.Write(ref _calls, 0);

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
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
