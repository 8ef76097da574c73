using System.Buffers;

namespace Router.Core.Execution;

/// <summary>Reads provider bodies.</summary>
internal static class UpstreamBody
{
    // Reads a whole provider answer into one array of exactly its size (it may be cached): a pooled buffer grows as
    // needed, so the only allocation per answer is the answer itself. Null when the answer is longer than maxBytes: it
    // is read no further.
    public static async Task<ReadOnlyMemory<byte>?> ReadAllAsync(Stream stream, int maxBytes, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var length = 0;
        try
        {
            while (true)
            {
                if (length > maxBytes)
                {
                    return null;
                }

                if (length == buffer.Length)
                {
                    // One byte past the bound at most: a longer answer is noticed there, and the size never overflows.
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(buffer.Length * 2L, maxBytes + 1L));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    return buffer.AsSpan(0, length).ToArray();
                }

                length += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
