using System.Security.Cryptography;
using System.Text;

namespace Router.Evaluation.Data;

/// <summary>
/// Splits rows into two halves by a hash of their id, so a row's half never depends on the file's order or size.
/// Fold 0 fits on half A and reports on half B; fold 1 swaps them (the cross-fit).
/// </summary>
internal static class HoldoutSplit
{
    public static bool IsHalfA(string id)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(id), hash);
        return (hash[0] & 1) == 0;
    }

    public static (List<T> Fit, List<T> Report) Split<T>(IEnumerable<T> rows, Func<T, string> id, int fold = 0)
    {
        var fit = new List<T>();
        var report = new List<T>();
        foreach (var r in rows)
        {
            var inA = IsHalfA(id(r));
            (inA ^ (fold == 1) ? fit : report).Add(r);
        }

        return (fit, report);
    }
}
