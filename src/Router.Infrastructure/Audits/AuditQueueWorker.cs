using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Audits;

namespace Router.Infrastructure.Audits;

/// <summary>The self-hosted server's stand-in for the <c>QualityAudit</c> queue trigger: takes jobs from the Storage
/// queue (or the in-process channel), runs them, and after <see cref="AuditOptions.MaxDequeueCount"/> failed
/// deliveries moves a job to <c>quality-audits-poison</c>, as the Functions host does (embedded: to the channel's
/// in-process poison list, as is a failed job the full channel has no room to retry).</summary>
internal sealed partial class AuditQueueWorker(
    IServiceProvider services,
    AuditProcessor processor,
    AuditJobCodec codec,
    IOptions<AuditOptions> options,
    TimeProvider time,
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

        // The retry loop ends with the read loop: were the read loop to end with an exception while the host runs on,
        // waiting for the retry loop would hold that exception back from the host for good.
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var retries = RequeueRetriesAsync(channel, reading.Token);
        try
        {
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
                        channel.Poison(job, time.GetUtcNow());
                        Log.Poisoned(logger, job.RequestId, attempt, ex.GetType().Name);
                    }
                    else if (channel.TryRetryLater(job, attempt + 1, time.GetUtcNow() + RetryDelay(ex, attempt)))
                    {
                        Log.Failed(logger, job.RequestId, attempt, ex.GetType().Name);
                    }
                    else
                    {
                        // New jobs took the room it left: it is kept for a redrive rather than lost.
                        channel.Poison(job, time.GetUtcNow());
                        Log.NoRoomForRetry(logger, job.RequestId, attempt, ex.GetType().Name);
                    }
                }
            }
        }
        finally
        {
            await reading.CancelAsync();
            await retries;
        }
    }

    // One wait for every job waiting for its retry (rather than a timer each): until the earliest is due, or until one
    // due sooner is scheduled.
    private async Task RequeueRetriesAsync(ChannelAuditQueue channel, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var (next, sooner) = channel.RequeueDue(time.GetUtcNow());

            // The wait is measured from the clock read just before it starts, so time that passed meanwhile does not add to it.
            using var due = next is { } at ? new CancellationTokenSource(Max(at - time.GetUtcNow(), TimeSpan.Zero), time) : new CancellationTokenSource();
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(due.Token, stop);
            await sooner.WaitAsync(wait.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private async Task RunStorageAsync(QueueServiceClient queues, CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var queue = queues.GetQueueClient(settings.QueueName);
        var poison = queues.GetQueueClient(settings.QueueName + "-poison");
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await queue.CreateIfNotExistsAsync(cancellationToken: stoppingToken);
                await poison.CreateIfNotExistsAsync(cancellationToken: stoppingToken);
                break;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                Log.QueueUnavailable(logger, ex.GetType().Name);
                await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken);
            }
        }

        // Jobs run as slots free up, each under a lease renewed until it is done; the loop itself never throws, since an
        // exception escaping a BackgroundService stops the whole server.
        using var slots = new SemaphoreSlim(Concurrency, Concurrency);
        var running = new List<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await slots.WaitAsync(stoppingToken);
                var free = 1;
                while (free < Concurrency && slots.Wait(0, CancellationToken.None))
                {
                    free++;
                }

                QueueMessage[] messages;
                try
                {
                    messages = (await queue.ReceiveMessagesAsync(free, settings.VisibilityTimeout, stoppingToken)).Value;
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    slots.Release(free);
                    Log.QueueUnavailable(logger, ex.GetType().Name);
                    await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken);
                    continue;
                }

                if (messages.Length < free)
                {
                    slots.Release(free - messages.Length);
                }

                running.RemoveAll(t => t.IsCompleted);
                foreach (var message in messages)
                {
                    running.Add(RunLeasedAsync(queue, poison, message, slots, stoppingToken));
                }

                if (messages.Length == 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(250), stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(running);
    }

    private async Task RunLeasedAsync(QueueClient queue, QueueClient poison, QueueMessage message, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        var lease = new Lease(message.MessageId, message.PopReceipt);
        using var renewing = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var renewal = RenewAsync(queue, lease, renewing.Token, stoppingToken);
        try
        {
            await HandleAsync(queue, poison, message, lease, renewal, renewing, stoppingToken);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            Log.Unhandled(logger, message.MessageId, ex.GetType().Name);
        }
        catch (OperationCanceledException)
        {
            // Shutting down: the message becomes visible again when its lease runs out.
        }
        finally
        {
            await renewing.CancelAsync();
            await renewal;
            slots.Release();
        }
    }

    private async Task HandleAsync(
        QueueClient queue, QueueClient poison, QueueMessage message, Lease lease, Task renewal, CancellationTokenSource renewing, CancellationToken ct)
    {
        if (message.DequeueCount > options.Value.MaxDequeueCount)
        {
            // The payload blob of a large job stays (until the lifecycle rule takes it), so a redrive finds it.
            await poison.SendMessageAsync(message.Body, cancellationToken: ct);
            await EndLeaseAsync(renewal, renewing);
            await DeleteAsync(queue, lease, ct);
            Log.Poisoned(logger, message.MessageId, (int)message.DequeueCount - 1, "too many deliveries");
            return;
        }

        try
        {
            var job = await codec.DecodeAsync(message.MessageText, ct);
            await processor.ProcessAsync(job, ct);
            await codec.ReleaseAsync(job, ct);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            Log.Failed(logger, message.MessageId, (int)message.DequeueCount, ex.GetType().Name);
            await EndLeaseAsync(renewal, renewing);
            if (lease.Lost)
            {
                return;
            }

            try
            {
                await queue.UpdateMessageAsync(lease.MessageId, lease.PopReceipt, visibilityTimeout: RetryDelay(ex, (int)message.DequeueCount), cancellationToken: ct);
            }
            catch (RequestFailedException update) when (IsLeaseGone(update))
            {
                Log.LeaseLost(logger, message.MessageId, update.ErrorCode);
            }

            return;
        }

        await EndLeaseAsync(renewal, renewing);
        await DeleteAsync(queue, lease, ct);
    }

    private async Task DeleteAsync(QueueClient queue, Lease lease, CancellationToken ct)
    {
        if (lease.Lost)
        {
            return;
        }

        try
        {
            await queue.DeleteMessageAsync(lease.MessageId, lease.PopReceipt, ct);
        }
        catch (RequestFailedException ex) when (IsLeaseGone(ex))
        {
            // Another instance took the job after a lease renewal failed; its delivery decides what happens to it.
            Log.LeaseLost(logger, lease.MessageId, ex.ErrorCode);
        }
    }

    private static async Task EndLeaseAsync(Task renewal, CancellationTokenSource renewing)
    {
        await renewing.CancelAsync();
        await renewal;
    }

    // Keeps the job invisible while it runs (as the Functions queue listener does), renewing at half the timeout; the
    // pop receipt changes with every renewal, and delete and update use the latest. Ending the lease stops the wait
    // between renewals, never a renewal in flight, whose new receipt the delete that follows needs; a renewal that
    // failed is tried again soon, while the lease still holds.
    private async Task RenewAsync(QueueClient queue, Lease lease, CancellationToken stop, CancellationToken stoppingToken)
    {
        var timeout = options.Value.VisibilityTimeout;
        var wait = timeout / 2;
        try
        {
            while (true)
            {
                await Task.Delay(wait, stop);
                try
                {
                    var receipt = await queue.UpdateMessageAsync(lease.MessageId, lease.PopReceipt, visibilityTimeout: timeout, cancellationToken: stoppingToken);
                    lease.PopReceipt = receipt.Value.PopReceipt;
                    wait = timeout / 2;
                }
                catch (RequestFailedException ex) when (IsLeaseGone(ex))
                {
                    lease.Lost = true;
                    Log.LeaseLost(logger, lease.MessageId, ex.ErrorCode);
                    return;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.RenewalFailed(logger, lease.MessageId, ex.GetType().Name);
                    wait = timeout / 8;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static bool IsLeaseGone(RequestFailedException ex) =>
        ex.Status == 404 || ex.ErrorCode is "PopReceiptMismatch" or "MessageNotFound";

    /// <summary>
    /// A received message that is not base64 (sent with <c>az storage message put</c>, or by a client without the
    /// encoding) cannot be decoded, and the SDK would fail the whole batch with it. It goes to the poison queue as received
    /// and leaves the queue, as the Functions host treats it.
    /// </summary>
    internal static async Task MoveUndecodableAsync(QueueServiceClient queues, QueueMessageDecodingFailedEventArgs args, ILogger logger)
    {
        if (args.ReceivedMessage is not { } message)
        {
            return;
        }

        var poison = queues.GetQueueClient(args.Queue.Name + "-poison");
        if (args.IsRunningSynchronously)
        {
            poison.CreateIfNotExists(cancellationToken: args.CancellationToken);
            poison.SendMessage(message.Body, cancellationToken: args.CancellationToken);
            args.Queue.DeleteMessage(message.MessageId, message.PopReceipt, args.CancellationToken);
        }
        else
        {
            await poison.CreateIfNotExistsAsync(cancellationToken: args.CancellationToken);
            await poison.SendMessageAsync(message.Body, cancellationToken: args.CancellationToken);
            await args.Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, args.CancellationToken);
        }

        Log.Undecodable(logger, message.MessageId);
    }

    // The backoff, or longer when the model that failed said when to come back (a 429's Retry-After): retrying before it
    // would spend a delivery on a refusal known in advance.
    private TimeSpan RetryDelay(Exception failure, int attempt)
    {
        var backoff = Backoff(options.Value.RetryBaseDelay, attempt);
        return RetryAfterOf(failure, time.GetUtcNow()) is { } hint && hint > backoff ? (hint < MaxBackoff ? hint : MaxBackoff) : backoff;
    }

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(1);

    /// <summary>The wait a provider asked for with the failure (<c>Retry-After</c> and the like), if any.</summary>
    internal static TimeSpan? RetryAfterOf(Exception failure, DateTimeOffset now)
    {
        for (Exception? e = failure; e is not null; e = e.InnerException)
        {
            if (e is System.ClientModel.ClientResultException { } result && result.GetRawResponse() is { } response)
            {
                return Providers.RetryAfterHeader.Read(name => response.Headers.TryGetValue(name, out var value) ? value : null, now);
            }
        }

        return null;
    }

    /// <summary>The wait before delivery <paramref name="attempt"/> + 1 of a failed job: the base delay times four per
    /// failed delivery, at most an hour. With the defaults (15 s, 5 deliveries) a job is tried over about 21 minutes
    /// (15 s, 1, 4 and 16 min) before it is poisoned, so an outage or a rate limit of the reference or judge model that
    /// lasts minutes delays audits rather than losing them.</summary>
    internal static TimeSpan Backoff(TimeSpan baseDelay, int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(baseDelay.TotalMilliseconds * Math.Pow(4, Math.Max(0, attempt - 1)), MaxBackoff.TotalMilliseconds));

    private const int Concurrency = 4;

    private sealed class Lease(string messageId, string popReceipt)
    {
        public string MessageId { get; } = messageId;

        public string PopReceipt { get; set; } = popReceipt;

        public bool Lost { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1501, Level = LogLevel.Warning, Message = "Audit {Id} failed on delivery {Attempt} ({ExceptionType}); it will be retried")]
        public static partial void Failed(ILogger logger, string id, int attempt, string exceptionType);

        [LoggerMessage(EventId = 1502, Level = LogLevel.Error, Message = "Audit {Id} moved to the poison queue after {Attempts} deliveries ({Reason})")]
        public static partial void Poisoned(ILogger logger, string id, int attempts, string reason);

        [LoggerMessage(EventId = 1503, Level = LogLevel.Warning, Message = "Audit queue unavailable ({ExceptionType}); retrying")]
        public static partial void QueueUnavailable(ILogger logger, string exceptionType);

        [LoggerMessage(EventId = 1504, Level = LogLevel.Warning, Message = "Audit {Id}: the queue lease was lost ({ErrorCode}); another delivery owns the job now")]
        public static partial void LeaseLost(ILogger logger, string id, string? errorCode);

        [LoggerMessage(EventId = 1505, Level = LogLevel.Warning, Message = "Audit {Id}: renewing the queue lease failed ({ExceptionType}); retrying")]
        public static partial void RenewalFailed(ILogger logger, string id, string exceptionType);

        [LoggerMessage(EventId = 1506, Level = LogLevel.Error, Message = "Audit {Id}: handling the queue message failed ({ExceptionType}); it becomes visible again when its lease ends")]
        public static partial void Unhandled(ILogger logger, string id, string exceptionType);

        [LoggerMessage(EventId = 1507, Level = LogLevel.Error, Message = "Audit queue message {Id} is not base64 text; moved to the poison queue as received")]
        public static partial void Undecodable(ILogger logger, string id);

        [LoggerMessage(EventId = 1508, Level = LogLevel.Error, Message = "Audit {Id} failed on delivery {Attempt} ({ExceptionType}) and the queue has no room for its retry; moved to the in-process poison list")]
        public static partial void NoRoomForRetry(ILogger logger, string id, int attempt, string exceptionType);
    }
}
