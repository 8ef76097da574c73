using System.Text.Json;
using Router.Core.Audits;
using Router.Core.Catalog;
using Router.Core.Routing;

namespace Router.Core.Tests.Audits;

public sealed class AuditJobTests
{
    [Fact]
    public void A_probe_carries_what_the_request_needs_and_a_job_queued_before_it_did_still_reads()
    {
        // Jobs wait on the queue (and in the poison queue, for a redrive) across deployments: one written before the
        // requirements were carried must still run.
        const string Old = """
            {"request_id":"req_1","tenant":"acme","timestamp":"2025-01-01T00:00:00+00:00","task":"coding","band":"low",
             "model":"mid","tier":"standard","reason":"probe","challenger_tier":"economy",
             "messages":[{"role":"user","content":"hi"}],"answer":"hello"}
            """;
        var old = JsonSerializer.Deserialize(Old, AuditJsonContext.Default.AuditJob)!;
        Assert.Equal(("economy", null), (old.ChallengerTier, old.Requirements));

        var requirements = new ModelRequirements { ContextTokens = 6_000, Tools = true, Features = ModelFeatures.ReasoningEffort | ModelFeatures.Logprobs };
        var json = JsonSerializer.Serialize(old with { Requirements = requirements }, AuditJsonContext.Default.AuditJob);
        Assert.Equal(requirements, JsonSerializer.Deserialize(json, AuditJsonContext.Default.AuditJob)!.Requirements);
        Assert.DoesNotContain("requirements", JsonSerializer.Serialize(old, AuditJsonContext.Default.AuditJob), StringComparison.Ordinal);
    }
}
