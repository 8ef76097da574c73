namespace Router.Evaluation.Tests.Data;

public sealed class EvaluationPathsTests
{
    [Fact]
    public void A_folder_of_another_split_gives_its_routing_and_labelled_files()
    {
        var directory = Directory.CreateTempSubdirectory("router-eval-");
        try
        {
            foreach (var name in new[] { "routing_mmlu_eval.jsonl", "routing_eval.jsonl", "cache_pairs_eval.jsonl", "prompts_labelled_eval.jsonl" })
            {
                File.WriteAllText(Path.Combine(directory.FullName, name), "\n");
            }

            Assert.Equal(["routing_eval.jsonl", "routing_mmlu_eval.jsonl"], EvaluationPaths.RoutingFiles(directory.FullName).Select(Path.GetFileName));
            Assert.Equal("prompts_labelled_eval.jsonl", Path.GetFileName(EvaluationPaths.LabelledFile(directory.FullName)));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_dev_files_are_taken_alone_where_they_are()
    {
        var directory = Directory.CreateTempSubdirectory("router-eval-");
        try
        {
            foreach (var name in new[] { "routing_dev.jsonl", "routing_mmlu_dev.jsonl", "routing_extra.jsonl", "prompts_labelled_dev.jsonl", "prompts_labelled_old.jsonl" })
            {
                File.WriteAllText(Path.Combine(directory.FullName, name), "\n");
            }

            Assert.Equal(["routing_dev.jsonl", "routing_mmlu_dev.jsonl"], EvaluationPaths.RoutingFiles(directory.FullName).Select(Path.GetFileName));
            Assert.Equal("prompts_labelled_dev.jsonl", Path.GetFileName(EvaluationPaths.LabelledFile(directory.FullName)));
            Assert.Empty(EvaluationPaths.RoutingFiles(Path.Combine(directory.FullName, "missing")));
            Assert.Null(EvaluationPaths.LabelledFile(Path.Combine(directory.FullName, "missing")));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
