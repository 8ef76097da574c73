using Router.Core.Audits;

namespace Router.Infrastructure.Audits;

/// <summary>Reads audit jobs from queue messages for the Functions queue trigger (rehydrating large payloads).</summary>
public sealed class AuditJobDecoder
{
    private readonly AuditJobCodec _codec;

    internal AuditJobDecoder(AuditJobCodec codec) => _codec = codec;

    /// <summary>The job in <paramref name="message"/>.</summary>
    public Task<AuditJob> DecodeAsync(string message, CancellationToken cancellationToken) => _codec.DecodeAsync(message, cancellationToken);

    /// <summary>Deletes the payload blob of a job that is done.</summary>
    public Task ReleaseAsync(AuditJob job, CancellationToken cancellationToken) => _codec.ReleaseAsync(job, cancellationToken);
}
