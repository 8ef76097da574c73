using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Audits;

namespace Router.Infrastructure.Audits;

/// <summary>
/// <c>quality-audits-poison</c>, where the Functions host and the server's worker put a job after too many failed
/// deliveries. A redrive copies each message's stored text as it is (base64, as the queue trigger reads it) to
/// <c>quality-audits</c> and deletes the poisoned message only once the copy is enqueued: a failure between the two
/// leaves the message to reappear in the poison queue, at worst a duplicate, which the processor skips by request id.
/// The queues are read and written with a client that neither encodes nor decodes message text, so a message that is
/// not base64 (which an encoding client could not even receive) is copied unchanged too.
/// </summary>
internal sealed partial class StorageAuditPoisonQueue(
    QueueServiceClient rawQueues,
    AuditJobCodec codec,
    IOptions<AuditOptions> options,
    ILogger<StorageAuditPoisonQueue> logger) : IAuditPoisonQueue
{
    // The most a receive or peek returns at once.
    private const int Batch = 32;

    // Long enough to copy and delete a batch; a redrive cut short leaves the rest of its batch invisible this long.
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);

    private QueueClient Poison => rawQueues.GetQueueClient(options.Value.QueueName + "-poison");

    public async Task<AuditPoisonSummary> InspectAsync(int show, CancellationToken cancellationToken)
    {
        var poison = Poison;
        try
        {
            var count = (await poison.GetPropertiesAsync(cancellationToken)).Value.ApproximateMessagesCount;
            var peeked = (await poison.PeekMessagesAsync(Math.Clamp(show, 1, Batch), cancellationToken)).Value;
            var oldest = peeked.Take(show)
                .Select(m => new PoisonedAudit(m.MessageId, AuditJobCodec.TryRead(m.MessageText)?.RequestId, m.InsertedOn))
                .ToList();
            return new AuditPoisonSummary(poison.Name, Durable: true, count, oldest);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Nothing was ever poisoned: the hosts create the poison queue with the first poisoned job.
            return new AuditPoisonSummary(poison.Name, Durable: true, 0, []);
        }
    }

    public async Task<AuditRedriveResult> RedriveAsync(int max, CancellationToken cancellationToken)
    {
        var poison = Poison;
        if (!(await poison.ExistsAsync(cancellationToken)).Value)
        {
            return new AuditRedriveResult(0, 0, 0);
        }

        var queue = rawQueues.GetQueueClient(options.Value.QueueName);
        await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        int redriven = 0, discarded = 0;
        while (redriven + discarded < max && !cancellationToken.IsCancellationRequested)
        {
            var messages = (await poison.ReceiveMessagesAsync(Math.Min(Batch, max - redriven - discarded), Lease, cancellationToken)).Value;
            if (messages.Length == 0)
            {
                break;
            }

            // A batch, once received, is finished even when the caller goes away, so no copy is left without its delete.
            var outcomes = await Task.WhenAll(messages.Select(m => MoveAsync(queue, poison, m)));
            redriven += outcomes.Count(o => o == Outcome.Redriven);
            discarded += outcomes.Count(o => o == Outcome.Discarded);
        }

        var remaining = (await poison.GetPropertiesAsync(CancellationToken.None)).Value.ApproximateMessagesCount;
        Log.Redriven(logger, redriven, discarded, remaining);
        return new AuditRedriveResult(redriven, discarded, remaining);
    }

    private async Task<Outcome> MoveAsync(QueueClient queue, QueueClient poison, QueueMessage message)
    {
        var outcome = Outcome.Redriven;
        var job = AuditJobCodec.TryRead(message.MessageText);
        if (job is null)
        {
            // Not a job at all (the worker poisons what it cannot decode): it would only come back here after five more
            // failed deliveries. Its id is logged; its text is not (it may hold a conversation).
            Log.Unreadable(logger, message.MessageId);
            outcome = Outcome.Discarded;
        }
        else if (await codec.PayloadGoneAsync(job, CancellationToken.None))
        {
            // The conversation expired with its blob (the lifecycle rule's 7 days): the job can never run again.
            Log.PayloadGone(logger, message.MessageId, job.RequestId);
            outcome = Outcome.Discarded;
        }
        else
        {
            await queue.SendMessageAsync(message.MessageText, CancellationToken.None);
        }

        try
        {
            await poison.DeleteMessageAsync(message.MessageId, message.PopReceipt, CancellationToken.None);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // The lease ran out and another redrive took the message too: its copy is a duplicate.
            Log.DeleteFailed(logger, message.MessageId, ex.ErrorCode);
        }

        return outcome;
    }

    private enum Outcome
    {
        Redriven,
        Discarded,
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1510, Level = LogLevel.Information, Message = "Audit poison queue: {Redriven} jobs redriven, {Discarded} discarded, about {Remaining} left")]
        public static partial void Redriven(ILogger logger, int redriven, int discarded, long remaining);

        [LoggerMessage(EventId = 1511, Level = LogLevel.Warning, Message = "Poisoned audit {Id} (request {RequestId}) discarded: its payload blob is gone")]
        public static partial void PayloadGone(ILogger logger, string id, string requestId);

        [LoggerMessage(EventId = 1513, Level = LogLevel.Warning, Message = "Poisoned audit {Id} discarded: it is not an audit job")]
        public static partial void Unreadable(ILogger logger, string id);

        [LoggerMessage(EventId = 1512, Level = LogLevel.Warning, Message = "Poisoned audit {Id} was copied back but could not be deleted ({ErrorCode}); the audit queue may hold it twice")]
        public static partial void DeleteFailed(ILogger logger, string id, string? errorCode);
    }
}
