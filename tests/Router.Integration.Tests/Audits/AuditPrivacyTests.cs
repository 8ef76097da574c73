using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Router.Core.Audits;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Audits;

/// <summary>What an audit never copies to the reference and judge models.</summary>
public sealed class AuditPrivacyTests
{
    [Fact]
    public async Task No_store_requests_personal_data_and_traffic_pinned_by_a_tenant_rule_are_not_audited()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var queue = new RecordingAuditQueue();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Audits:SampleRate"] = "1";
        settings["Router:Tenants:local:Rules:0:Name"] = "eu-only";
        settings["Router:Tenants:local:Rules:0:When:metadata:region"] = "eu";
        settings["Router:Tenants:local:Rules:0:Then:pin_model"] = "sim-small";
        await using var router = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<IAuditQueue>(queue));
        using var skipped = new SkippedAudits(router);

        async Task<string> AskAsync(string prompt, string? cacheControl = null, string metadata = "")
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
            {
                Content = TestJson.Body($$"""{"model":"router/economy"{{metadata}},"messages":[{"role":"user","content":"{{prompt}}"}]}"""),
            };
            if (cacheControl is not null)
            {
                request.Headers.CacheControl = CacheControlHeaderValue.Parse(cacheControl);
            }

            using var response = await router.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return response.Headers.GetValues("x-router-request-id").Single();
        }

        var plain = await AskAsync("Suggest a name for a bakery that sells sourdough.");
        var noStore = await AskAsync("Suggest a name for a shop that sells sourdough.", "no-store");
        var personal = await AskAsync("My SSN is 123-45-6789 and my card is 4111 1111 1111 1111; fill in the form for me.");
        var email = await AskAsync("Draft a short reply to jane.roe@example.com about the delivery date.");   // pii, served below premium
        var pinned = await AskAsync("Suggest a name for a cafe that sells sourdough.", metadata: ""","metadata":{"region":"eu"}""");

        // Sampling runs after the answer has gone out: the last request's outcome (its pinned skip) is awaited first.
        await SkippedAudits.UntilAsync(() => queue.Jobs.Count + skipped.Seen.Count >= 3);
        var audited = queue.Jobs.Select(j => j.RequestId).ToHashSet(StringComparer.Ordinal);
        Assert.Contains(plain, audited);   // the control: sampling is on
        Assert.DoesNotContain(noStore, audited);
        Assert.DoesNotContain(personal, audited);
        Assert.DoesNotContain(email, audited);
        Assert.DoesNotContain(pinned, audited);

        // Sampled but not audited is counted, so a dashboard does not read the missing audits as none sampled (a no-store
        // request and the premium-served one were not sampled at all).
        Assert.Equal([AuditSkips.PersonalData, AuditSkips.Pinned], skipped.Seen.Select(s => s.Skip!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Personal_data_past_the_risk_scan_in_an_earlier_answer_or_in_the_answer_is_not_audited()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        simulator.Model("sim-small").Responder = chat => chat.LastUserMessage.Contains("refund", StringComparison.Ordinal)
            ? "Refund issued to card 4111 1111 1111 1111."
            : SimulatedProvider.DefaultAnswer(chat.Model, chat.LastUserMessage);
        var queue = new RecordingAuditQueue();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Audits:SampleRate"] = "1";
        await using var router = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<IAuditQueue>(queue));
        using var skipped = new SkippedAudits(router);

        static string Report(int chars) =>
            string.Concat(Enumerable.Repeat("The quarterly report lists revenue, churn and hiring plans. ", (chars / 59) + 1))[..chars];
        const string Customer = " Customer Jane Roe, card 4111 1111 1111 1111. ";

        // 60,000 characters: the risk scan reads the first 32 KB and the last 8 KB, the audit keeps the first and last 16,000.
        var control = await AskAsync(router, ("user", "Summarize:\n" + Report(60_000)));
        var middle = await AskAsync(router, ("user", "Summarize:\n" + Report(47_000) + Customer + Report(13_000)));
        var earlierAnswer = await AskAsync(router, ("user", "Who is the customer?"), ("assistant", Customer), ("user", "Write them a thank-you note."));
        var inAnswer = await AskAsync(router, ("user", "Confirm the refund for order 1182."));

        // Each of the last three is skipped for the personal data the job would carry: all four outcomes are awaited.
        await SkippedAudits.UntilAsync(() => queue.Jobs.Count + skipped.Seen.Count >= 4);
        var audited = queue.Jobs.Select(j => j.RequestId).ToHashSet(StringComparer.Ordinal);
        Assert.Contains(control.RequestId, audited);
        Assert.Equal(control.Risk, middle.Risk);   // the risk scan did not see the card; the audit must
        Assert.DoesNotContain(middle.RequestId, audited);
        Assert.DoesNotContain(earlierAnswer.RequestId, audited);
        Assert.DoesNotContain(inAnswer.RequestId, audited);
        Assert.DoesNotContain(queue.Jobs, j => j.Answer.Contains("4111", StringComparison.Ordinal) || j.Messages.Any(m => m.Content.Contains("4111", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task An_answer_not_audited_for_personal_data_the_job_would_carry_is_counted_as_skipped()
    {
        // The risk scan reads no assistant turn, so the card in the earlier answer is found only in the text the job
        // would carry: that skip is counted with the others, or a dashboard would read the missing audits as none sampled.
        await using var simulator = await SimulatedProvider.StartAsync();
        var queue = new RecordingAuditQueue();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:UseDefaultCatalog"] = "false";
        settings["Router:Audits:SampleRate"] = "1";
        await using var router = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<IAuditQueue>(queue));
        using var skipped = new SkippedAudits(router);

        var (plain, _) = await AskAsync(router, ("user", "Who is the customer?"), ("assistant", "Customer Jane Roe."), ("user", "Write them a thank-you note."));
        var (personal, _) = await AskAsync(router, ("user", "Who is the customer?"), ("assistant", "Customer Jane Roe, card 4111 1111 1111 1111."),
            ("user", "Write them a thank-you note."));

        await SkippedAudits.UntilAsync(() => queue.Jobs.Count + skipped.Seen.Count >= 2);
        Assert.Equal(plain, Assert.Single(queue.Jobs).RequestId);   // the control: sampling is on
        Assert.Equal(("sampled", "personal_data"), Assert.Single(skipped.Seen));
        Assert.NotEqual(personal, queue.Jobs.Single().RequestId);
    }

    // A conversation to router/economy; the answer's request id and risk level.
    private static async Task<(string RequestId, string Risk)> AskAsync(RouterServerHost router, params (string Role, string Content)[] messages)
    {
        var body = new JsonObject
        {
            ["model"] = "router/economy",
            ["messages"] = new JsonArray(messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray()),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = TestJson.Body(body.ToJsonString()) };
        using var response = await router.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (response.Headers.GetValues("x-router-request-id").Single(), response.Headers.GetValues("x-router-risk").Single());
    }
}
