extern alias training;

using Router.Core.Analysis;
using training::Router.Analysis.Training;

namespace Router.Evaluation.Tests.Analysis;

public sealed class LabelledDataTests
{
    [Fact]
    public void Unknown_labels_are_left_out_and_reported_and_bad_lines_are_counted()
    {
        using var file = new TempDataFile(TempDataFile.Crlf(
            """{"id": "a", "prompt": "Write a SQL query.", "task_type": "coding", "complexity": "low", "risk_level": "none", "risk_categories": [], "language": "en"}""",
            """{"id": "b", "prompt": "Read my horoscope.", "task_type": "astrology", "risk_level": "severe", "risk_categories": ["weapons", "medical", null]}""",
            """{"id": "c", "prompt": "Use ABC notation.", "task_type": null, "label_fine": null, "followup_turns": null, "language": null}""",
            """{"id": "d", "task_type": "chat"}""",
            """{"id": "e", "prompt": "cut""",
            """{"id": 7, "prompt": "", "task_type": 3, "followup_turns": ["Shorter.", null]}"""), bom: true);
        var log = new List<string>();

        var rows = LabelledData.Load(file.Path, log.Add);

        Assert.Equal(["a", "b", "c", "7"], rows.Select(r => r.Id));
        Assert.Equal(TaskType.Coding, rows[0].Task);
        Assert.Null(rows[1].Task);
        Assert.Null(rows[1].Risk);
        Assert.Equal(["weapons", "medical"], rows[1].RiskCategories);
        Assert.Null(rows[2].Task);
        Assert.Equal(["Shorter."], rows[3].FollowUps);
        var line = Assert.Single(log);
        Assert.Contains("4 rows (2 skipped: 1 no prompt, 1 not valid JSON)", line, StringComparison.Ordinal);
        Assert.Contains("task_type 'astrology' 1", line, StringComparison.Ordinal);
        Assert.Contains("task_type '3' 1", line, StringComparison.Ordinal);
        Assert.Contains("risk_level 'severe' 1", line, StringComparison.Ordinal);
        Assert.Contains("risk category 'weapons' 1", line, StringComparison.Ordinal);
        Assert.DoesNotContain("'medical'", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_with_another_split_s_file_names_is_read_rather_than_found_empty()
    {
        var directory = Directory.CreateTempSubdirectory("router-eval-");
        try
        {
            File.WriteAllText(Path.Combine(directory.FullName, "prompts_labelled_eval.jsonl"), """{"id": "a", "prompt": "hi", "task_type": "chat"}""" + "\n");
            File.WriteAllText(Path.Combine(directory.FullName, "task_types_eval.jsonl"), """{"id": "b", "prompt": "Write a SQL query.", "task_type": "coding"}""" + "\n");

            var rows = LabelledData.Load(directory.FullName);

            Assert.Equal(["a", "b"], rows.Select(r => r.Id));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void The_task_model_trains_on_a_handful_of_rows(int count)
    {
        string[] prompts = ["summarize this text: cats are nice", "write a haiku about rain", "translate hello into French"];
        TaskType[] tasks = [TaskType.Summarization, TaskType.CreativeWriting, TaskType.Translation];
        var rows = Enumerable.Range(0, count)
            .Select(i => new LabelledRow($"r{i}", "f", "f", prompts[i], tasks[i], null, null, [], null, []))
            .ToList();
        var examples = FeatureSet.Build(rows, generator: null, "test", cacheDirectory: null);

        var file = TaskModelTrainer.Train(examples, "test", "none");

        Assert.Equal(TaskTypeNames.All.Count, file.Classes.Length);
    }

    [Fact]
    public void Training_on_no_labelled_rows_is_refused_with_a_message()
    {
        var rows = new List<LabelledRow> { new("r", "f", "f", "hello", null, null, null, [], null, []) };
        var examples = FeatureSet.Build(rows, generator: null, "test", cacheDirectory: null);

        Assert.Throws<ArgumentException>(() => TaskModelTrainer.Train(examples, "test", "none"));
    }

    [Fact]
    public void Macro_F1_over_no_rows_has_no_class_present()
    {
        var (macro, present) = ClassMetrics.Macro(ClassMetrics.Confusion([], 13));

        Assert.Equal((0.0, 0), (macro, present));
    }
}
