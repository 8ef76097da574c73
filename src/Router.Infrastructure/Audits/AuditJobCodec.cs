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
/// the deployment's lifecycle rule in any case).</summary>
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

    /// <summary>Deletes the payload blob named in a queue message (a job given up to the poison queue: the conversation
    /// is not kept for it); a message that cannot be read names none.</summary>
    public Task ReleasePayloadAsync(string message, CancellationToken cancellationToken)
    {
        AuditJob? job;
        try
        {
            job = JsonSerializer.Deserialize(message, AuditJsonContext.Default.AuditJob);
        }
        catch (JsonException)
        {
            return Task.CompletedTask;
        }

        return job is null ? Task.CompletedTask : ReleaseAsync(job, cancellationToken);
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
