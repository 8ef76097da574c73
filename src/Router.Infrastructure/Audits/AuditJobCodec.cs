using System.Text;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Options;
using Router.Core.Audits;

namespace Router.Infrastructure.Audits;

/// <summary>Turns audit jobs into queue messages and back. A job too large for a queue message (64 KiB, base64) has
/// its prompt and answer moved to the <c>audit-payloads</c> container, deleted once the job is done (and after 7 days by
/// the deployment's lifecycle rule in any case). A poisoned job keeps its payload, so that a redrive can still run it.</summary>
internal sealed class AuditJobCodec(IOptions<AuditOptions> options, BlobServiceClient? blobs = null)
{
    // Base64 grows text by a third; keep well under the 64 KiB queue message limit.
    private const int MaxInlineBytes = 44 * 1024;

    public async Task<string> EncodeAsync(AuditJob job, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.Serialize(job, AuditJsonContext.Default.AuditJob);
        if (Encoding.UTF8.GetByteCount(json) <= MaxInlineBytes)
        {
            return json;
        }

        if (blobs is null)
        {
            throw new InvalidOperationException("An audit job is too large for a queue message and no blob storage is configured.");
        }

        var container = blobs.GetBlobContainerClient(options.Value.PayloadContainer);
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        var name = job.RequestId + ".json";
        await container.GetBlobClient(name).UploadAsync(BinaryData.FromString(json), overwrite: true, cancellationToken);
        return JsonSerializer.Serialize(job with { Messages = [], Answer = "", PayloadBlob = name }, AuditJsonContext.Default.AuditJob);
    }

    public async Task<AuditJob> DecodeAsync(string message, CancellationToken cancellationToken)
    {
        var job = JsonSerializer.Deserialize(message, AuditJsonContext.Default.AuditJob)
            ?? throw new InvalidDataException("The audit message is empty.");
        if (job.PayloadBlob is not { } name)
        {
            return job;
        }

        if (blobs is null)
        {
            throw new InvalidOperationException("The audit job's payload is in blob storage, which is not configured.");
        }

        BlobDownloadResult content;
        try
        {
            content = await blobs.GetBlobContainerClient(options.Value.PayloadContainer).GetBlobClient(name).DownloadContentAsync(cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Done and released already (a redelivered message), or expired: the job without its payload, which the
            // processor treats as a duplicate when its row exists and as an error otherwise.
            return job;
        }

        var full = JsonSerializer.Deserialize(content.Content.ToString(), AuditJsonContext.Default.AuditJob)
            ?? throw new InvalidDataException("The audit payload blob is empty.");
        return full with { PayloadBlob = name };
    }

    /// <summary>The job in a queue message as stored (base64 text, as the queue trigger reads it); null when the message is
    /// not base64 JSON of a job.</summary>
    public static AuditJob? TryRead(string storedText)
    {
        var bytes = new byte[storedText.Length];
        if (!Convert.TryFromBase64String(storedText, bytes, out var length))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(bytes.AsSpan(0, length), AuditJsonContext.Default.AuditJob);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Whether the job's payload was offloaded to a blob that no longer exists (expired, or deleted once an
    /// earlier delivery of the job was done): such a job can never run again.</summary>
    public async Task<bool> PayloadGoneAsync(AuditJob job, CancellationToken cancellationToken)
    {
        if (job.PayloadBlob is not { } name || job.Messages.Count > 0 || blobs is null)
        {
            return false;
        }

        var exists = await blobs.GetBlobContainerClient(options.Value.PayloadContainer).GetBlobClient(name).ExistsAsync(cancellationToken);
        return !exists.Value;
    }

    /// <summary>Deletes a finished job's payload blob; a failure is left to the container's lifecycle rule.</summary>
    public async Task ReleaseAsync(AuditJob job, CancellationToken cancellationToken)
    {
        if (job.PayloadBlob is not { } name || blobs is null)
        {
            return;
        }

        try
        {
            await blobs.GetBlobContainerClient(options.Value.PayloadContainer).GetBlobClient(name).DeleteIfExistsAsync(cancellationToken: cancellationToken);
        }
        catch (RequestFailedException)
        {
        }
    }
}
