using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;
using Router.Core.Audits;

namespace Router.Infrastructure.Audits;

/// <summary>Turns audit jobs into queue messages and back. A job too large for a queue message (64 KiB, base64) has
/// its prompt and answer moved to the <c>audit-payloads</c> container (deleted after 7 days by a lifecycle rule).</summary>
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

        var content = await blobs.GetBlobContainerClient(options.Value.PayloadContainer).GetBlobClient(name).DownloadContentAsync(cancellationToken);
        return JsonSerializer.Deserialize(content.Value.Content.ToString(), AuditJsonContext.Default.AuditJob)
            ?? throw new InvalidDataException("The audit payload blob is empty.");
    }
}
