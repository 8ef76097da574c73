using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Router.Core.Analysis;
using Router.Core.Audits;
using Router.Core.Catalog;
using Router.Core.Routing;
using Router.Core.Weights;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Audits;

/// <summary>Audits that could say nothing about a model's quality are not queued: the job could not carry the request,
/// or a probe has no model of the lower tier that could serve it.</summary>
public sealed class AuditEvidenceTests
{
    [Fact]
    public async Task An_answer_to_a_request_with_an_image_or_a_file_is_not_audited_and_is_counted_as_skipped()
    {
        // The job carries the conversation's text: the reference, the judge and a probe's challenger would answer and
        // compare answers to a prompt without its image, and the verdict would still feed the weights.
        await using var simulator = await SimulatedProvider.StartAsync();
        var queue = new RecordingAuditQueue();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Models:sim-small:SupportsVision"] = "true";
        settings["Router:Audits:SampleRate"] = "1";
        await using var router = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<IAuditQueue>(queue));
        using var skipped = new SkippedAudits(router);

        var plain = await AskAsync(router, "router/economy", Text("Describe a harbour at dawn."));
        var image = await AskAsync(router, "router/economy", Text("What boat is in this harbour photo?"),
            new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = "data:image/png;base64,iVBORw0KGgo=" } });
        var file = await AskAsync(router, "router/economy", Text("Summarise the attached report."),
            new JsonObject { ["type"] = "file", ["file"] = new JsonObject { ["filename"] = "report.pdf", ["file_data"] = "data:application/pdf;base64,JVBERi0=" } });

        await SkippedAudits.UntilAsync(() => queue.Jobs.Count + skipped.Seen.Count >= 3);
        Assert.Equal(plain, Assert.Single(queue.Jobs).RequestId);   // the control: sampling is on
        Assert.Equal(2, skipped.Seen.Count(s => s == ("sampled", "non_text")));
        Assert.DoesNotContain(queue.Jobs, j => j.RequestId == image || j.RequestId == file);
    }

    [Fact]
    public async Task An_answer_to_a_conversation_with_tool_calls_or_results_is_not_audited_and_is_counted_as_skipped()
    {
        // The job carries each turn's text alone: an assistant turn that called a tool arrives empty, and a tool result
        // without the call it answers is dropped by the client library, so the reference would answer without the tool's
        // output while the judge reads it, and the verdict would still feed the weights.
        await using var simulator = await SimulatedProvider.StartAsync();
        var queue = new RecordingAuditQueue();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Audits:SampleRate"] = "1";
        await using var router = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<IAuditQueue>(queue));
        using var skipped = new SkippedAudits(router);

        var plain = await AskAsync(router, "router/economy", Text("Describe a harbour at dawn."));
        var call = new JsonObject
        {
            ["id"] = "call_1",
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = "tide_times", ["arguments"] = "{\"port\":\"Brest\"}" },
        };
        var withTools = await AskAsync(router, new JsonArray(
            new JsonObject { ["role"] = "user", ["content"] = "When is high tide in Brest today?" },
            new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(call) },
            new JsonObject { ["role"] = "tool", ["tool_call_id"] = "call_1", ["content"] = "{\"high\":\"14:05\"}" }));

        await SkippedAudits.UntilAsync(() => queue.Jobs.Count + skipped.Seen.Count >= 2);
        Assert.Equal(plain, Assert.Single(queue.Jobs).RequestId);   // the control: sampling is on
        Assert.Equal(("sampled", "tool_turns"), Assert.Single(skipped.Seen));
        Assert.DoesNotContain(queue.Jobs, j => j.RequestId == withTools);
    }

    [Fact]
    public async Task A_probe_is_queued_only_when_a_model_of_the_lower_tier_can_serve_the_request()
    {
        // Economy's only model has a 300-token context window: a request that needs more (its prompt and max_tokens), in a
        // band raised to standard, cannot be answered there, so its probe would fail until the poison queue, and routing
        // would not serve it with that model were the band to come down.
        await using var simulator = await SimulatedProvider.StartAsync();
        var queue = new RecordingAuditQueue();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Models:sim-small:ContextWindow"] = "300";
        settings["Router:Audits:SampleRate"] = "0";
        settings["Router:Audits:ProbeSampleRate"] = "1";
        await using var router = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<IAuditQueue>(queue));
        using var skipped = new SkippedAudits(router);

        // Every task's lowest band raised to standard: the floor holds for the bands above it too.
        Assert.True(router.Services.GetRequiredService<RoutingWeightsHolder>().TryUpdate(new RoutingWeights(1_000, DateTimeOffset.UtcNow,
            TaskTypeNames.All.ToDictionary(t => RoutingWeights.Key(t, ComplexityBand.Low), _ => new TierAdjustment(ModelTier.Standard, "test")),
            new Dictionary<string, string>())));

        var fits = await AskAsync(router, "auto", Text("Suggest a name for a bakery."));
        var tooLong = await AskAsync(router, "auto", 1_000, Text("Suggest a name for a cafe."));

        await SkippedAudits.UntilAsync(() => queue.Jobs.Count + skipped.Seen.Count >= 2);
        var probe = Assert.Single(queue.Jobs);
        Assert.Equal((fits, AuditReasons.Probe, "economy"), (probe.RequestId, probe.Reason, probe.ChallengerTier));
        Assert.InRange(probe.Requirements?.ContextTokens ?? 0, 1, 300);   // so the audit tests a model that fits, too
        Assert.Equal(("probe", "no_challenger"), Assert.Single(skipped.Seen));
        Assert.NotEqual(tooLong, probe.RequestId);
    }

    private static JsonObject Text(string text) => new() { ["type"] = "text", ["text"] = text };

    private static Task<string> AskAsync(RouterServerHost router, string model, params JsonObject[] parts) => AskAsync(router, model, null, parts);

    private static Task<string> AskAsync(RouterServerHost router, string model, int? maxTokens, params JsonObject[] parts) =>
        AskAsync(router, new JsonArray(new JsonObject { ["role"] = "user", ["content"] = new JsonArray(parts.Select(p => (JsonNode)p).ToArray()) }),
            model, maxTokens);

    private static async Task<string> AskAsync(RouterServerHost router, JsonArray messages, string model = "router/economy", int? maxTokens = null)
    {
        var body = new JsonObject { ["model"] = model, ["messages"] = messages };
        if (maxTokens is { } max)
        {
            body["max_tokens"] = max;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(body.ToJsonString()) };
        using var response = await router.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response.Headers.GetValues("x-router-request-id").Single();
    }
}
