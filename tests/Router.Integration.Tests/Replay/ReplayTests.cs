using Microsoft.Extensions.Configuration;
using Router.Integration.Tests.Functions;
using Router.Server;

namespace Router.Integration.Tests.Replay;

public sealed class ReplayTests
{
    private static readonly string Sample = Path.Combine(FunctionsMetadataTests.RepositoryRoot(), "samples", "workload.jsonl");

    private static async Task<(int Exit, string Output, string Errors)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var exit = await RouterCli.RunAsync(args, output, errors, config => config.AddInMemoryCollection(new Dictionary<string, string?> { ["Router:Audits:Enabled"] = "false" }));
        return (exit, output.ToString(), errors.ToString());
    }

    [Fact]
    public async Task The_shipped_sample_workload_produces_its_report()
    {
        var report = Path.Combine(Path.GetTempPath(), $"replay-{Guid.NewGuid():N}.html");

        var (exit, output, errors) = await RunAsync("replay", Sample, "--out", report);

        Assert.Equal(0, exit);
        Assert.Equal("", errors);
        var rows = File.ReadAllLines(Sample).Length;
        Assert.Contains($"{rows} requests routed, 0 skipped", output, StringComparison.Ordinal);
        var html = await File.ReadAllTextAsync(report);
        Assert.Contains("All-premium cost", html, StringComparison.Ordinal);
        Assert.Contains("<h2>Tier mix</h2><svg", html, StringComparison.Ordinal);
        Assert.Contains("<h2>Top tasks</h2><svg", html, StringComparison.Ordinal);
        Assert.Contains("Cache hit rate<b>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("Cache hit rate<b>0.0%", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_paraphrase_of_an_earlier_row_is_a_semantic_hit_and_a_repeat_an_exact_one()
    {
        var workload = Path.Combine(Path.GetTempPath(), $"replay-{Guid.NewGuid():N}.jsonl");
        var report = Path.ChangeExtension(workload, ".html");
        await File.WriteAllLinesAsync(workload,
        [
            """{"messages":[{"role":"user","content":"What is the capital city of Australia?"}],"max_tokens":600}""",
            """{"messages":[{"role":"user","content":"What's the capital city of Australia?"}],"max_tokens":600}""",
            """{"messages":[{"role":"user","content":"What is the capital city of Australia?"}],"max_tokens":600}""",
            """{"messages":[{"role":"user","content":"What is the capital city of Canada?"}],"max_tokens":600}""",
        ]);

        var (exit, output, errors) = await RunAsync("replay", workload, "--out", report);

        Assert.Equal(0, exit);
        Assert.Equal("", errors);
        Assert.Contains("4 requests routed", output, StringComparison.Ordinal);
        // Two hits in four rows: the paraphrase (semantic) and the repeat (exact); Canada is another question.
        Assert.Contains("Cache hit rate<b>50.0%", await File.ReadAllTextAsync(report), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("help")]
    [InlineData("--help")]
    [InlineData("keys", "--help")]
    [InlineData("replay", "-h")]
    public async Task Help_prints_the_usage_and_starts_nothing(params string[] args)
    {
        Assert.True(RouterCli.IsCommand(args) || args[0] != "help");
        var (exit, output, errors) = await RunAsync(args);

        Assert.Equal(0, exit);
        Assert.Contains("keys create --tenant <id>", output, StringComparison.Ordinal);
        Assert.Equal("", errors);
    }

    [Theory]
    [InlineData("'keys create' does not take --rmp", "keys", "create", "--tenant", "acme", "--rmp", "5")]
    [InlineData("'keys revoke' needs a key id", "keys", "revoke")]
    [InlineData("'tenants list' does not take 'extra'", "tenants", "list", "extra")]
    [InlineData("--quality must be between 0 and 1", "replay", "SAMPLE", "--quality", "5")]
    [InlineData("not in the expected format", "replay", "SAMPLE", "--quality", "abc")]
    [InlineData("The report's folder does not exist", "replay", "SAMPLE", "--out", "/nonexistent/folder/report.html")]
    [InlineData("Usage", "keys", "bogus")]
    public async Task Bad_arguments_are_refused_in_a_line_before_anything_runs(string message, params string[] args)
    {
        var (exit, output, errors) = await RunAsync([.. args.Select(a => a == "SAMPLE" ? Sample : a)]);

        Assert.Equal(1, exit);
        Assert.Contains(message, errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("requests routed", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_rows_are_reported_with_their_line_numbers_and_the_replay_still_finishes()
    {
        var workload = Path.Combine(Path.GetTempPath(), $"workload-{Guid.NewGuid():N}.jsonl");
        var good = File.ReadAllLines(Sample).Take(4).ToList();
        await File.WriteAllLinesAsync(workload, [good[0], "{not json", good[1], "[1,2,3]", """{"prompt":"no messages here"}""", good[2], """{"messages":"wrong type"}""", good[3]]);
        var report = Path.ChangeExtension(workload, ".html");

        var (exit, output, errors) = await RunAsync("replay", workload, "--out", report);

        Assert.Equal(0, exit);
        Assert.Contains("4 requests routed, 4 skipped", output, StringComparison.Ordinal);
        foreach (var line in new[] { 2, 4, 5, 7 })
        {
            Assert.Contains($"line {line}: skipped", errors, StringComparison.Ordinal);
        }

        Assert.Contains("<h2>Skipped rows</h2>", await File.ReadAllTextAsync(report), StringComparison.Ordinal);
    }
}
