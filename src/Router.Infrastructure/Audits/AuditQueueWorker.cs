using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Audits;

namespace Router.Infrastructure.Audits;

/// <summary>The self-hosted server's stand-in for the <c>QualityAudit</c> queue trigger: takes jobs from the Storage
/// queue (or the in-process channel), runs them, and after <see cref="AuditOptions.MaxDequeueCount"/> failed
/// deliveries moves a job to <c>quality-audits-poison</c>, as the Functions host does.</summary>
internal sealed partial class AuditQueueWorker(
    IServiceProvider services,
    AuditProcessor processor,
    AuditJobCodec codec,
    IOptions<AuditOptions> options,
    ILogger<AuditQueueWorker> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        services.GetService(typeof(IAuditQueue)) switch
        {
            ChannelAuditQueue channel => RunChannelAsync(channel, stoppingToken),
            StorageAuditQueue => RunStorageAsync((QueueServiceClient)services.GetService(typeof(QueueServiceClient))!, stoppingToken),
            _ => Task.CompletedTask,
        };

    private async Task RunChannelAsync(ChannelAuditQueue channel, CancellationToken stoppingToken)
    {
        var settings = options.Value;
        await foreach (var (job, attempt) in channel.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await processor.ProcessAsync(job, stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                if (attempt >= settings.MaxDequeueCount)
                {
                    Log.Poisoned(logger, job.RequestId, attempt, ex.GetType().Name);
                    continue;
                }

                Log.Failed(logger, job.RequestId, attempt, ex.GetType().Name);
                _ = RequeueLaterAsync(channel, job, attempt, stoppingToken);
            }
        }
    }

    private async Task RequeueLaterAsync(ChannelAuditQueue channel, AuditJob job, int attempt, CancellationToken stoppingToken)
    {
        await Task.Delay(Backoff(attempt), stoppingToken);
        await channel.Requeue(job, attempt + 1);
    }

    private async Task RunStorageAsync(QueueServiceClient queues, CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var queue = queues.GetQueueClient(settings.QueueName);
        var poison = queues.GetQueueClient(settings.QueueName + "-poison");
        await queue.CreateIfNotExistsAsync(cancellationToken: stoppingToken);
        await poison.CreateIfNotExistsAsync(cancellationToken: stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            QueueMessage[] messages;
            try
            {
                messages = (await queue.ReceiveMessagesAsync(16, TimeSpan.FromMinutes(2), stoppingToken)).Value;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                Log.QueueUnavailable(logger, ex.GetType().Name);
                await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken);
                continue;
            }

            if (messages.Length == 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), stoppingToken);
                continue;
            }

            await Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = stoppingToken }, async (message, ct) =>
            {
                if (message.DequeueCount > settings.MaxDequeueCount)
                {
                    await poison.SendMessageAsync(message.MessageText, ct);
                    await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct);
                    Log.Poisoned(logger, message.MessageId, (int)message.DequeueCount - 1, "too many deliveries");
                    return;
                }

                try
                {
                    var job = await codec.DecodeAsync(message.MessageText, ct);
                    await processor.ProcessAsync(job, ct);
                    await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct);
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    Log.Failed(logger, message.MessageId, (int)message.DequeueCount, ex.GetType().Name);
                    await queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: Backoff((int)message.DequeueCount), cancellationToken: ct);
                }
            });
        }
    }

    private TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(options.Value.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1), 60_000));

    private static partial class Log
    {
        [LoggerMessage(EventId = 1501, Level = LogLevel.Warning, Message = "Audit {Id} failed on delivery {Attempt} ({ExceptionType}); it will be retried")]
        public static partial void Failed(ILogger logger, string id, int attempt, string exceptionType);

        [LoggerMessage(EventId = 1502, Level = LogLevel.Error, Message = "Audit {Id} moved to the poison queue after {Attempts} deliveries ({Reason})")]
        public static partial void Poisoned(ILogger logger, string id, int attempts, string reason);

        [LoggerMessage(EventId = 1503, Level = LogLevel.Warning, Message = "Audit queue unavailable ({ExceptionType}); retrying")]
        public static partial void QueueUnavailable(ILogger logger, string exceptionType);
    }
}
