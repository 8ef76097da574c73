using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Caching;

public sealed class CacheFixture : IAsyncLifetime
{
    public SimulatedProvider Simulator { get; private set; } = null!;

    public RouterServerHost Router { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(Simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Embeddings:Provider"] = "Local";
        settings["Router:Audits:Enabled"] = "false";
        settings["Router:ApiKeys:0:Tenant"] = "tenant-a";
        settings["Router:ApiKeys:0:Key"] = "cache-tenant-a-key-01";
        settings["Router:ApiKeys:1:Tenant"] = "tenant-b";
        settings["Router:ApiKeys:1:Key"] = "cache-tenant-b-key-01";
        Router = await RouterServerHost.StartAsync(settings);
    }

    public async Task DisposeAsync()
    {
        await Router.DisposeAsync();
        await Simulator.DisposeAsync();
    }
}

/// <summary>The response cache through Router.Server, black box: only headers, bodies and the provider's call counts.</summary>
public sealed class ResponseCacheTests(CacheFixture fixture) : IClassFixture<CacheFixture>
{
    private async Task<HttpResponseMessage> AskAsync(string prompt, string key = "cache-tenant-a-key-01", bool stream = false, string? cacheControl = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(TestJson.Chat("router/economy", prompt, stream)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (cacheControl is not null)
        {
            request.Headers.TryAddWithoutValidation("Cache-Control", cacheControl);
        }

        return await fixture.Router.Http.SendAsync(request);
    }

    private static string Header(HttpResponseMessage response, string name) => response.Headers.GetValues(name).Single();

    private static async Task<string> ContentAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"]!["content"]!.GetValue<string>();

    [Fact]
    public async Task The_same_prompt_twice_is_an_exact_hit_served_without_calling_the_provider()
    {
        const string Prompt = "What are good names for a golden retriever puppy?";
        using var first = await AskAsync(Prompt);
        var calls = fixture.Simulator.Received.Count;
        using var second = await AskAsync(Prompt);

        Assert.Equal("miss", Header(first, "x-router-cache"));
        Assert.Equal("exact", Header(second, "x-router-cache"));
        Assert.Equal(calls, fixture.Simulator.Received.Count);
        Assert.Equal(await ContentAsync(first), await ContentAsync(second));
        Assert.Equal("0", Header(second, "x-router-cost-usd"));
        // The replayed usage is the provider's own count for that very prompt, not a fresh estimate.
        Assert.Equal(await UsageAsync(first), await UsageAsync(second));
    }

    private static async Task<(int Prompt, int Completion)> UsageAsync(HttpResponseMessage response)
    {
        var usage = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["usage"]!;
        return (usage["prompt_tokens"]!.GetValue<int>(), usage["completion_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_paraphrase_is_a_semantic_hit_with_its_similarity()
    {
        using var original = await AskAsync("How do I reset my router to factory settings?");
        var calls = fixture.Simulator.Received.Count;
        using var paraphrase = await AskAsync("How can I reset my router to its factory settings?");

        Assert.Equal("semantic", Header(paraphrase, "x-router-cache"));
        var similarity = double.Parse(Header(paraphrase, "x-router-similarity"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(similarity, 0.86, 1.0);
        Assert.Equal(calls, fixture.Simulator.Received.Count);
        Assert.Equal(await ContentAsync(original), await ContentAsync(paraphrase));
    }

    [Fact]
    public async Task A_look_alike_with_a_different_number_misses()
    {
        using var first = await AskAsync("Convert 25 degrees Celsius to Fahrenheit.");
        using var lookAlike = await AskAsync("Convert 35 degrees Celsius to Fahrenheit.");

        Assert.Equal("miss", Header(lookAlike, "x-router-cache"));
        Assert.NotEqual(await ContentAsync(first), await ContentAsync(lookAlike));
    }

    [Fact]
    public async Task The_same_prompt_from_another_tenant_misses()
    {
        const string Prompt = "List three benefits of regular stretching.";
        using var tenantA = await AskAsync(Prompt);
        using var tenantAagain = await AskAsync(Prompt);
        using var tenantB = await AskAsync(Prompt, key: "cache-tenant-b-key-01");

        Assert.Equal("exact", Header(tenantAagain, "x-router-cache"));
        Assert.Equal("miss", Header(tenantB, "x-router-cache"));
    }

    [Fact]
    public async Task No_store_bypasses_the_cache_and_no_cache_skips_reading_it()
    {
        const string Prompt = "Suggest a title for a blog post about home composting.";
        using var stored = await AskAsync(Prompt);
        using var noStore = await AskAsync(Prompt, cacheControl: "no-store");
        using var noCache = await AskAsync(Prompt, cacheControl: "no-cache");
        using var normal = await AskAsync(Prompt);

        Assert.Equal("bypass", Header(noStore, "x-router-cache"));
        Assert.Equal("bypass", Header(noCache, "x-router-cache"));
        Assert.Equal("exact", Header(normal, "x-router-cache"));
    }

    [Fact]
    public async Task Route_says_what_the_cache_would_do_with_the_request_and_changes_nothing()
    {
        const string Prompt = "How do I descale my espresso machine at home?";
        const string Paraphrase = "How can I descale my espresso machine at home?";

        var before = await PreviewAsync(Prompt);
        var callsBefore = fixture.Simulator.Received.Count;
        var stillBefore = await PreviewAsync(Prompt);
        using (var answered = await AskAsync(Prompt))
        {
            Assert.Equal("miss", Header(answered, "x-router-cache"));
        }

        var exact = await PreviewAsync(Prompt);
        var semantic = await PreviewAsync(Paraphrase);
        var noCache = await PreviewAsync(Prompt, "no-cache");
        var otherTenant = await PreviewAsync(Prompt, key: "cache-tenant-b-key-01");

        Assert.Equal(("miss", null), before);
        Assert.Equal(("miss", null), stillBefore);   // a preview stores nothing
        Assert.Equal(callsBefore + 1, fixture.Simulator.Received.Count);   // and calls no model
        Assert.Equal(("exact", null), exact);
        Assert.Equal("semantic", semantic.Status);
        Assert.InRange(semantic.Similarity!.Value, 0.86, 1.0);
        Assert.Equal(("bypass", null), noCache);
        Assert.Equal(("miss", null), otherTenant);
        using var served = await AskAsync(Paraphrase);
        Assert.Equal("semantic", Header(served, "x-router-cache"));
        Assert.Equal(semantic.Similarity.Value, double.Parse(Header(served, "x-router-similarity"), System.Globalization.CultureInfo.InvariantCulture), 3);
    }

    private async Task<(string Status, double? Similarity)> PreviewAsync(string prompt, string? cacheControl = null, string key = "cache-tenant-a-key-01")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/route") { Content = TestJson.Body(TestJson.Chat("router/economy", prompt)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (cacheControl is not null)
        {
            request.Headers.TryAddWithoutValidation("Cache-Control", cacheControl);
        }

        using var response = await fixture.Router.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var cache = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["cache"]!.AsObject();
        Assert.True(cache.ContainsKey("similarity"));   // the contract's shape: present, null unless semantic
        return (cache["status"]!.GetValue<string>(), cache["similarity"]?.GetValue<double>());
    }

    [Fact]
    public async Task A_streamed_request_served_from_the_cache_is_valid_sse_ending_in_done()
    {
        const string Prompt = "Explain in one paragraph why the sky is blue.";
        using var first = await AskAsync(Prompt);
        var expected = await ContentAsync(first);

        using var streamed = await AskAsync(Prompt, stream: true);
        var text = await streamed.Content.ReadAsStringAsync();

        Assert.Equal("exact", Header(streamed, "x-router-cache"));
        Assert.Equal("text/event-stream", streamed.Content.Headers.ContentType?.MediaType);
        Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
        var events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        var content = string.Concat(events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!["choices"]!.AsArray())
            .Where(c => c.Count > 0).Select(c => c[0]!["delta"]!["content"]?.GetValue<string>() ?? ""));
        Assert.Equal(expected, content);
    }
}
