using Router.Bench;
using Router.Evaluation.Data;
using Router.Evaluation.Routing;

namespace Router.Evaluation.Tests.Data;

public sealed class RoutingFileTests
{
    private const string Strong = RoutingFile.DefaultStrongModel;
    private const string Weak = RoutingFile.DefaultWeakModel;

    private static string Row(string id, string prompt, string strong, string weak, string extra = "") =>
        $$$$"""{"id": "{{{{id}}}}", "source": "gsm8k", "category": "math", "prompt": {{{{prompt}}}}, "prior_user_turns": []{{{{extra}}}}, "models": {"{{{{Strong}}}}": {{{{strong}}}}, "{{{{Weak}}}}": {{{{weak}}}}}}""";

    private static (List<RoutingRow> Rows, SkippedRows Skipped) Load(TempDataFile file)
    {
        var skipped = new SkippedRows();
        return (RoutingFile.Load(file.Path, Strong, Weak, skipped), skipped);
    }

    [Fact]
    public void A_BOM_CRLF_endings_and_blank_lines_are_read_and_bad_lines_are_counted_by_reason()
    {
        using var file = new TempDataFile(
            TempDataFile.Crlf(
                Row("a", "\"2+2?\"", """{"quality": 1.0, "correct": true, "output_tokens_est": 12}""", """{"quality": 0.0, "correct": false, "output_tokens_est": 9}"""),
                """{"id": "broken", "prompt": "cut off""",
                "[1, 2]",
                Row("no-strong", "\"x\"", "null", """{"correct": true}"""),
                """{"id": "no-models", "prompt": "x", "models": null}""",
                """{"id": "no-prompt", "prompt": null, "models": {}}""",
                Row("b", "\"3+3?\"", """{"correct": true}""", """{"correct": true}""")),
            bom: true);

        var (rows, skipped) = Load(file);

        Assert.Equal(["a", "b"], rows.Select(r => r.Id));
        Assert.Equal("2+2?", rows[0].Prompt);
        Assert.Equal((1.0, 0.0), (rows[0].Strong.Quality, rows[0].Weak.Quality));
        Assert.Equal(5, skipped.Total);
        Assert.Equal(1, skipped.Reasons["not valid JSON"]);
        Assert.Equal(1, skipped.Reasons["not a JSON object"]);
        Assert.Equal(1, skipped.Reasons["no outcome for " + Strong]);
        Assert.Equal(1, skipped.Reasons["no models"]);
        Assert.Equal(1, skipped.Reasons["no prompt"]);
        Assert.Contains("5 skipped", skipped.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void MT_bench_rows_read_the_judged_score_the_earlier_turns_and_a_fractional_token_estimate_and_skip_a_failed_judgement()
    {
        using var file = new TempDataFile(string.Join("\n",
            """{"id": "mtbench-81-t2", "source": "mt_bench", "category": null, "prompt": "Now as a poem.", "prior_user_turns": ["Write a travel blog post."], "models": {"gpt-4-1106-preview": {"score": 9, "quality": 0.9, "correct": null, "output_tokens_est": 310.5}, "mixtral-8x7b-instruct-v0.1": {"score": 4.0, "correct": null, "output_tokens_est": 280.25}}}""",
            """{"id": "mtbench-82", "source": "mt_bench", "prompt": "Explain.", "models": {"gpt-4-1106-preview": {"score": 8, "quality": 0.8}, "mixtral-8x7b-instruct-v0.1": {"score": -1, "quality": null}}}"""));

        var (rows, skipped) = Load(file);

        var row = Assert.Single(rows);
        Assert.Null(row.Category);
        Assert.Equal(["Write a travel blog post.", "Now as a poem."], row.UserTurns);
        Assert.Equal(0.9, row.Strong.Quality, 9);
        Assert.Equal(0.4, row.Weak.Quality, 9);
        Assert.Equal((310, 280), (row.Strong.OutputTokens, row.Weak.OutputTokens));
        Assert.Equal(1, skipped.Reasons["failed judgement (negative score or quality) for " + Weak]);
    }

    [Fact]
    public void Correct_written_as_1_or_0_numbers_as_strings_and_missing_optional_fields_are_read()
    {
        using var file = new TempDataFile(string.Join("\n",
            """{"id": 17, "prompt": "x", "models": {"gpt-4-1106-preview": {"correct": 1, "output_tokens_est": "40"}, "mixtral-8x7b-instruct-v0.1": {"correct": 0.0, "output_tokens_est": null}}}""",
            """{"prompt": "y", "prior_user_turns": null, "models": {"gpt-4-1106-preview": {"quality": "0.7"}, "mixtral-8x7b-instruct-v0.1": {"quality": 0.2}}}"""));

        var (rows, skipped) = Load(file);

        Assert.Equal(0, skipped.Total);
        Assert.Equal(("17", "", 1.0, 0.0, 40, 0), (rows[0].Id, rows[0].Source, rows[0].Strong.Quality, rows[0].Weak.Quality, rows[0].Strong.OutputTokens, rows[0].Weak.OutputTokens));
        Assert.Equal("line 2", rows[1].Id);
        Assert.Empty(rows[1].PriorUserTurns);
        Assert.Equal(0.7, rows[1].Strong.Quality, 9);
    }

    [Theory]
    [InlineData("\"half a pair \\ud800 here\"", "half a pair \uFFFD here")]
    [InlineData("\"\\udfff first\"", "\uFFFD first")]
    [InlineData("\"a pair \\ud83d\\ude00 stays\"", "a pair \U0001F600 stays")]
    [InlineData("\"\"", "")]
    [InlineData("\"  \\n\\t \"", "  \n\t ")]
    [InlineData("\"数列の和 مجموع योग\"", "数列の和 مجموع योग")]
    public void Any_prompt_text_is_read_and_makes_a_body_the_router_accepts(string json, string expected)
    {
        using var file = new TempDataFile(Row("s", json, """{"correct": true}""", """{"correct": false}"""));

        var (rows, _) = Load(file);

        var row = Assert.Single(rows);
        Assert.Equal(expected, row.Prompt);
        var request = RouterHarness.Parse(RouterHarness.Body(row));
        Assert.Single(request.Messages);
    }

    [Fact]
    public void Invalid_UTF_8_bytes_are_read_as_replacement_characters()
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(Row("u", "\"bad |\"", """{"correct": true}""", """{"correct": false}""")).ToList();
        var at = bytes.IndexOf((byte)'|');
        bytes.RemoveAt(at);
        bytes.InsertRange(at, [0xED, 0xA0, 0x80]);
        using var file = new TempDataFile([.. bytes]);

        var (rows, _) = Load(file);

        Assert.StartsWith("bad ", Assert.Single(rows).Prompt, StringComparison.Ordinal);
        Assert.Contains('\uFFFD', rows[0].Prompt);
    }

    [Fact]
    public void Labelled_prompts_without_a_prompt_are_counted_and_null_labels_are_kept_as_null()
    {
        using var file = new TempDataFile(TempDataFile.Crlf(
            """{"id": "a", "prompt": "Use ABC notation.", "task_type": null, "complexity": null}""",
            """{"id": "b", "task_type": "coding"}""",
            """{"prompt": "hi", "task_type": "chat", "complexity": "low"}"""), bom: true);
        var skipped = new SkippedRows();

        var rows = LabelledPrompt.Load(file.Path, skipped);

        Assert.Equal(["a", "line 5"], rows.Select(r => r.Id));
        Assert.Null(rows[0].TaskType);
        Assert.Equal("low", rows[1].Complexity);
        Assert.Equal(1, skipped.Reasons["no prompt"]);
    }
}
