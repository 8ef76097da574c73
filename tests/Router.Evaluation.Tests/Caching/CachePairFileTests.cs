extern alias caching;

using caching::Router.Bench;
using caching::Router.Caching.Evaluation;

namespace Router.Evaluation.Tests.Caching;

public sealed class CachePairFileTests
{
    [Fact]
    public void Labels_written_as_booleans_floats_or_strings_are_read_and_the_rest_counted()
    {
        using var file = new TempDataFile(TempDataFile.Crlf(
            """{"id": "p1", "query": "How do I reverse a list?", "candidate": "Reverse a Python list?", "label": 1, "pair_type": "paraphrase_positive"}""",
            """{"id": "p2", "query": "a", "candidate": "b", "label": 1.0, "pair_type": "paraphrase_positive"}""",
            """{"id": "n1", "query": "17 x 23?", "candidate": "17 x 24?", "label": false, "pair_type": "near_miss"}""",
            """{"id": "n2", "query": "", "candidate": "   ", "label": "0"}""",
            """{"id": 99, "query": "\ud800 lone", "candidate": "x", "label": true, "pair_type": null}""",
            """{"id": "bad1", "query": "a", "candidate": "b", "label": 2}""",
            """{"id": "bad2", "query": null, "candidate": "b", "label": 0}""",
            """{"id": "bad3", "query": "a", "label": 0}""",
            """{"query": "a", "candidate": "b", "label": null}""",
            "not json"), bom: true);
        var skipped = new SkippedRows();

        var rows = CachePairFile.Load(file.Path, skipped);

        Assert.Equal(["p1", "p2", "n1", "n2", "99"], rows.Select(r => r.Id));
        Assert.Equal([1, 1, 0, 0, 1], rows.Select(r => r.Label));
        Assert.Equal(CachePairFile.NoPairType, rows[3].PairType);
        Assert.Equal("\uFFFD lone", rows[4].Query);
        Assert.Equal(5, skipped.Total);
        Assert.Equal(2, skipped.Reasons["label not 0 or 1"]);
        Assert.Equal(1, skipped.Reasons["no query"]);
        Assert.Equal(1, skipped.Reasons["no candidate"]);
        Assert.Equal(1, skipped.Reasons["not valid JSON"]);
    }

    [Fact]
    public void A_folder_is_read_as_its_dev_file_else_another_split_s()
    {
        var directory = Directory.CreateTempSubdirectory("router-eval-");
        try
        {
            var other = Path.Combine(directory.FullName, "cache_pairs_eval.jsonl");
            File.WriteAllText(other, "\n");
            Assert.Equal(other, CachePairFile.Resolve(directory.FullName));

            var dev = Path.Combine(directory.FullName, "cache_pairs_dev.jsonl");
            File.WriteAllText(dev, "\n");
            Assert.Equal(dev, CachePairFile.Resolve(directory.FullName));
            Assert.Equal(other, CachePairFile.Resolve(other));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
