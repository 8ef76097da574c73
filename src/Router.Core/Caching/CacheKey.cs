using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Router.Core.Caching;

/// <summary>SHA-256 of a scope and a prompt: the exact-match key of a cache entry.</summary>
public readonly record struct CacheKey(ulong Part0, ulong Part1, ulong Part2, ulong Part3)
{
    /// <summary>Hashes the scope and the prompt; the scope is part of the key, so tenants can never share one.</summary>
    public static CacheKey Compute(CacheScope scope, string prompt)
    {
        ArgumentNullException.ThrowIfNull(scope.Tenant);
        ArgumentNullException.ThrowIfNull(scope.ContextFingerprint);
        ArgumentNullException.ThrowIfNull(prompt);

        // Length-prefixed fields: ("ab", "c") and ("a", "bc") must not collide.
        var max = 12 + Encoding.UTF8.GetMaxByteCount(scope.Tenant.Length + scope.ContextFingerprint.Length + prompt.Length);
        var rented = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            var buffer = rented.AsSpan();
            var at = 0;
            foreach (var field in (ReadOnlySpan<string>)[scope.Tenant, scope.ContextFingerprint, prompt])
            {
                var written = Encoding.UTF8.GetBytes(field, buffer[(at + 4)..]);
                BinaryPrimitives.WriteInt32LittleEndian(buffer[at..], written);
                at += 4 + written;
            }

            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(buffer[..at], hash);
            return new CacheKey(
                BinaryPrimitives.ReadUInt64BigEndian(hash),
                BinaryPrimitives.ReadUInt64BigEndian(hash[8..]),
                BinaryPrimitives.ReadUInt64BigEndian(hash[16..]),
                BinaryPrimitives.ReadUInt64BigEndian(hash[24..]));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The hash as 64 lower-case hex digits.</summary>
    public override string ToString() => $"{Part0:x16}{Part1:x16}{Part2:x16}{Part3:x16}";
}
