using Router.Bench;

namespace Router.Caching.Evaluation;

/// <summary>One labelled query/candidate pair of a cache-pairs file (the schema of cache_pairs_dev.jsonl).</summary>
internal sealed record PairRow(string Id, string Query, string Candidate, int Label, string PairType);

/// <summary>Reads cache-pairs files leniently (see <see cref="JsonLines"/>).</summary>
internal static class CachePairFile
{
    /// <summary>A pair_type that is missing or null.</summary>
    public const string NoPairType = "(none)";

    /// <summary>The file to read for <paramref name="path"/>: the path itself, or in a folder its cache_pairs_dev.jsonl,
    /// else its first cache_pairs*.jsonl (another split's name); a folder with neither gives the dev name, which reads as
    /// missing.</summary>
    public static string Resolve(string path) =>
        Directory.Exists(path)
            ? DataFiles.In(path, ["cache_pairs_dev.jsonl"], "cache_pairs*.jsonl").FirstOrDefault() ?? Path.Combine(path, "cache_pairs_dev.jsonl")
            : path;

    /// <summary>
    /// The pairs with a query, a candidate and a label of 0 or 1 (also written as true/false, 1.0 or "1");
    /// <paramref name="skipped"/> counts the others by reason. A pair without an id is named by its line number.
    /// </summary>
    public static List<PairRow> Load(string path, SkippedRows skipped)
    {
        var rows = new List<PairRow>();
        foreach (var (line, row) in JsonLines.Read(path, skipped))
        {
            var query = JsonLines.String(row, "query");
            var candidate = JsonLines.String(row, "candidate");
            if (query is null || candidate is null)
            {
                skipped.Add(query is null ? "no query" : "no candidate");
                continue;
            }

            if (JsonLines.Boolean(row, "label") is not { } label)
            {
                skipped.Add("label not 0 or 1");
                continue;
            }

            rows.Add(new PairRow(
                JsonLines.Id(row, "id") ?? $"line {line}",
                query,
                candidate,
                label ? 1 : 0,
                JsonLines.String(row, "pair_type") ?? NoPairType));
        }

        return rows;
    }
}
