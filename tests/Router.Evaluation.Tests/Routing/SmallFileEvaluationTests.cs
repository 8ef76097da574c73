using Router.Evaluation.Embeddings;
using Router.Evaluation.Routing;

namespace Router.Evaluation.Tests.Routing;

/// <summary>The routing evaluator end to end (MiniLM embeddings included) on files too small for every fold to have rows.</summary>
public sealed class SmallFileEvaluationTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"router-eval-{Guid.NewGuid():N}");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void A_crossfit_over_a_file_of_a_handful_of_rows_reports_n_a_where_a_half_is_empty(int rows)
    {
        Directory.CreateDirectory(_directory);
        var path = Path.Combine(_directory, "small.jsonl");
        string[] prompts = ["What is 2+2?", "Integrate x^2 from 0 to 3.", "Name a prime above 100."];
        File.WriteAllLines(path, prompts.Take(rows).Select((p, i) =>
            $$$$"""{"id": "small-{{{{i}}}}", "prompt": "{{{{p}}}}", "models": {"gpt-4-1106-preview": {"correct": true, "output_tokens_est": 50}, "mixtral-8x7b-instruct-v0.1": {"correct": {{{{(i == 1 ? "false" : "true")}}}}, "output_tokens_est": 40}}}"""));
        using var cache = new EmbeddingCache(Path.Combine(_directory, "cache.bin"));
        var settings = new EvaluationSettings { CrossFit = true, OutputDirectory = Path.Combine(_directory, "out") };
        var log = new StringWriter();
        var evaluator = new RoutingEvaluator(new Workbench(cache, settings, log));

        var results = settings.Folds.Select(fold => evaluator.Evaluate(path, fold)).ToList();
        RoutingReport.Write(settings.OutputDirectory, settings, results, "test");

        Assert.Equal(rows, results.Sum(r => r.ReportRows));
        Assert.Contains(results, r => r.ReportRows == 0 || r.FitRows == 0);
        var markdown = File.ReadAllText(Path.Combine(settings.OutputDirectory, "routing.md"));
        Assert.Contains("n/a", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("NaN", markdown, StringComparison.Ordinal);
        Assert.True(new FileInfo(Path.Combine(settings.OutputDirectory, "routing.json")).Length > 0);
        Assert.Contains("using the difficulty model shipped in Router.Core", log.ToString(), StringComparison.Ordinal);
    }
}
