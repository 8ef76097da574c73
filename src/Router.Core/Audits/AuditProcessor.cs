using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Analysis;
using Router.Core.Catalog;
using Router.Core.Execution;
using Router.Core.Metering;
using Router.Core.Routing;
using Router.Core.Telemetry;
using Router.Core.Weights;

namespace Router.Core.Audits;

/// <summary>Runs one audit job: a premium reference answer (for probes, also the answer of the lower tier's model that
/// would serve the band; the served answer is the reference when premium served it), two judge passes, one result row. A duplicate job is a no-op; a transient
/// failure throws so the queue retries and finally poisons it; a judge reply without a verdict is recorded as
/// <see cref="AuditVerdict.Unjudged"/>.</summary>
public sealed partial class AuditProcessor(
    ModelCatalog catalog,
    IChatClientProvider clients,
    IAuditStore store,
    IUsageLedger ledger,
    IRoutingWeightsSource weights,
    IOptions<AuditOptions> options,
    TimeProvider time,
    RouterTelemetry telemetry,
    ILogger<AuditProcessor> logger)
{
    /// <summary>Processes <paramref name="job"/>; returns false when it had been processed already.</summary>
    public async Task<bool> ProcessAsync(AuditJob job, CancellationToken cancellationToken)
    {
        if (await store.FindAsync(job.RequestId, job.Timestamp, cancellationToken) is { } recorded)
        {
            return await RecordedAlreadyAsync(job, recorded, cancellationToken);
        }

        if (job.PayloadBlob is { } blob && job.Messages.Count == 0)
        {
            throw new InvalidDataException($"The payload of audit {job.RequestId} (blob {blob}) is gone: it expired before the job ran.");
        }

        var settings = options.Value;
        var reference = Resolve(settings.ReferenceModel) ?? throw new InvalidOperationException("No premium model is configured to write audit references.");
        var judge = Resolve(settings.JudgeModel) ?? reference;
        var messages = job.Messages.Select(m => new ChatMessage(new ChatRole(m.Role), m.Content)).ToArray();

        string candidate, referenceAnswer, judgedModel, judgedTier;
        decimal cost;
        if (job.Reason == AuditReasons.Probe)
        {
            // The premium answer was served; test what the lower tier would have said.
            if (Challenger(job) is not { } challenger)
            {
                Log.NoChallenger(logger, job.RequestId, job.ChallengerTier ?? "none");
                return false;
            }

            var generated = await clients.For(challenger).GetResponseAsync(messages, cancellationToken: cancellationToken);
            (candidate, referenceAnswer, judgedModel, judgedTier) = (generated.Text, job.Answer, challenger.Id, challenger.Tier.ToWire());
            cost = Cost(challenger, generated.Usage);
            if (!ModelTierNames.TryParse(job.Tier, out var served) || served < ModelTier.Premium)
            {
                // A band raised to standard was served by standard: every verdict is against a premium answer, so the
                // lower tier is judged by the same measure as in sampled audits.
                var premium = await clients.For(reference).GetResponseAsync(messages, cancellationToken: cancellationToken);
                referenceAnswer = premium.Text;
                cost += Cost(reference, premium.Usage);
            }
        }
        else
        {
            var generated = await clients.For(reference).GetResponseAsync(messages, cancellationToken: cancellationToken);
            (candidate, referenceAnswer, judgedModel, judgedTier) = (job.Answer, generated.Text, job.Model, job.Tier);
            cost = Cost(reference, generated.Usage);
        }

        var (verdict, score, disagreement, judgeUsage) = await AuditJudge.JudgeAsync(clients.For(judge), job.Messages, candidate, referenceAnswer, cancellationToken);
        cost += Cost(judge, judgeUsage);
        var result = new AuditResult
        {
            RequestId = job.RequestId,
            TenantId = job.TenantId,
            RequestTime = job.Timestamp,
            AuditedAt = time.GetUtcNow(),
            Task = job.Task,
            Band = job.Band,
            Model = judgedModel,
            Tier = judgedTier,
            Reason = job.Reason,
            Verdict = verdict,
            Score = score,
            PositionDisagreement = disagreement,
            CostUsd = cost,
        };
        // The audit row first, then the usage row's score from it: a delivery of the same job that ran at the same time
        // and recorded its audit first wins, and the score usage reports is that audit's, never this run's discarded one.
        if (!await store.TryAddAsync(result, cancellationToken))
        {
            if (await store.FindAsync(job.RequestId, job.Timestamp, cancellationToken) is { } winner)
            {
                return await RecordedAlreadyAsync(job, winner, cancellationToken);
            }

            Log.Duplicate(logger, job.RequestId);
            return false;
        }

        await SetUsageScoreAsync(job, result, cancellationToken);
        if (verdict == AuditVerdict.Unjudged)
        {
            // Kept as a row (its cost was spent, and an operator counts them), but no score is reported: retrying would
            // buy the reference and the judge again for a reply that, a refusal say, would most likely be the same.
            Log.Unjudged(logger, job.RequestId, judge.Id);
            return true;
        }

        telemetry.Audit(job.Task, judgedModel, score);
        Log.Audited(logger, job.RequestId, judgedModel, job.Task, job.Band, verdict, score);
        return true;
    }

    // A job whose audit is recorded writes that audit's score to the usage row again (the same value, so harmless): if
    // the run that recorded it failed before writing the score, its retry ends here and the score is still written.
    private async Task<bool> RecordedAlreadyAsync(AuditJob job, AuditResult recorded, CancellationToken cancellationToken)
    {
        await SetUsageScoreAsync(job, recorded, cancellationToken);
        Log.Duplicate(logger, job.RequestId);
        return false;
    }

    private async Task SetUsageScoreAsync(AuditJob job, AuditResult audit, CancellationToken cancellationToken)
    {
        if (audit.Verdict != AuditVerdict.Unjudged && audit.Reason != AuditReasons.Probe
            && !await ledger.SetAuditScoreAsync(job.TenantId, job.Timestamp, job.RequestId, audit.Score, cancellationToken))
        {
            Log.NoUsageRow(logger, job.RequestId);
        }
    }

    // The model routing would serve the band with if it came down: the lower tier's cheapest model not demoted in the
    // probe's (task, band), as routing puts demoted models last (and serves them only when all are). The tier's estimate
    // that keeps or lowers the band leaves demoted models out, so probing one would spend the probe on evidence that can
    // never bring the band down, while the model that would serve it went untested. Like routing, it keeps to models
    // that can serve the request (its context, tools, features): one that cannot fails on every delivery, or answers a
    // request routing would never send it. A job queued before it carried the requirements takes the tier as it is.
    private CatalogModel? Challenger(AuditJob job)
    {
        if (!ModelTierNames.TryParse(job.ChallengerTier, out var tier)
            || (job.Requirements is { } requirements ? catalog.InTier(tier).Where(requirements.MetBy).ToList() : catalog.InTier(tier)) is not [var cheapest, ..] models)
        {
            return null;
        }

        if (!TaskTypeNames.TryParse(job.Task, out var task) || !ComplexityBands.TryParse(job.Band, out var band)
            || weights.Current.DemotedIn(task, band) is not { Count: > 0 } demoted)
        {
            return cheapest;
        }

        return models.FirstOrDefault(m => !demoted.ContainsKey(m.Id)) ?? cheapest;
    }

    private CatalogModel? Resolve(string? id) =>
        id is not null && catalog.TryGet(id, out var model) ? model : catalog.Baseline;

    private static decimal Cost(CatalogModel model, UsageDetails? usage) =>
        usage is null ? 0 : model.Cost(usage.InputTokenCount ?? 0, usage.OutputTokenCount ?? 0);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Audit of request {RequestId} is already recorded; its score is set on the usage row again")]
        public static partial void Duplicate(ILogger logger, string requestId);

        [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Audited request {RequestId}: {Model} on {Task}/{Band} was {Verdict} (score {Score:0.00})")]
        public static partial void Audited(ILogger logger, string requestId, string model, string task, string band, AuditVerdict verdict, double score);

        [LoggerMessage(EventId = 1305, Level = LogLevel.Warning, Message = "Audit of request {RequestId}: its usage row was not found, so usage will not show this score")]
        public static partial void NoUsageRow(ILogger logger, string requestId);

        [LoggerMessage(EventId = 1303, Level = LogLevel.Warning, Message = "Probe audit {RequestId}: no model in tier {Tier} can serve the request to test")]
        public static partial void NoChallenger(ILogger logger, string requestId, string tier);

        [LoggerMessage(EventId = 1304, Level = LogLevel.Warning, Message = "Audit of request {RequestId}: judge {Judge} gave no readable verdict; recorded as unjudged")]
        public static partial void Unjudged(ILogger logger, string requestId, string judge);
    }
}
