using Microsoft.Azure.Functions.Worker;
using Router.Core.Audits;
using Router.Core.Weights;
using Router.Infrastructure.Audits;

namespace Router.Functions;

/// <summary>The queue and timer triggers: audits of sampled answers, and the recompute of routing weights.</summary>
public sealed class BackgroundFunctions(AuditProcessor audits, AuditJobDecoder decoder, WeightsRecomputer weights)
{
    /// <summary>Audits one sampled answer. Exceptions propagate, so the host retries the message and, after
    /// <c>maxDequeueCount</c> deliveries (host.json: 5), moves it to <c>quality-audits-poison</c>.</summary>
    [Function(nameof(QualityAudit))]
    public async Task QualityAudit([QueueTrigger("%Router:Audits:QueueName%")] string message, CancellationToken cancellationToken)
    {
        var job = await decoder.DecodeAsync(message, cancellationToken);
        await audits.ProcessAsync(job, cancellationToken);
        await decoder.ReleaseAsync(job, cancellationToken);
    }

    /// <summary>Recomputes routing weights on the schedule in <c>Router:Weights:Schedule</c>; overlapping or duplicate
    /// fires write one version between them.</summary>
    [Function(nameof(RecomputeWeights))]
    public Task RecomputeWeights([TimerTrigger("%Router:Weights:Schedule%")] TimerInfo timer, CancellationToken cancellationToken) =>
        weights.RecomputeAsync(cancellationToken);
}
