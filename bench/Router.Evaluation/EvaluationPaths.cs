using Router.Bench;

namespace Router.Evaluation;

/// <summary>Where the repository and the evaluation data are, wherever the tool is started from.</summary>
internal static class EvaluationPaths
{
    private const string Marker = "Router.Functions.sln";

    public static string RepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, Marker)))
                {
                    return dir.FullName;
                }
            }
        }

        return Directory.GetCurrentDirectory();
    }

    /// <summary>The shared data folder beside the repository (<c>../shared/data</c>), else the workplace's <c>/work/shared/data</c>.</summary>
    public static string DataDirectory(string repository)
    {
        var beside = Path.GetFullPath(Path.Combine(repository, "..", "shared", "data"));
        return Directory.Exists(beside) || !Directory.Exists("/work/shared/data") ? beside : "/work/shared/data";
    }

    /// <summary>The dev routing files in <paramref name="directory"/>; in a folder of another split (other names), every
    /// <c>routing*.jsonl</c> there, so that <c>--data DIR</c> evaluates that split rather than finding nothing.</summary>
    public static List<string> RoutingFiles(string directory) =>
        DataFiles.In(directory, ["routing_dev.jsonl", "routing_mmlu_dev.jsonl"], "routing*.jsonl");

    /// <summary>The labelled prompts in <paramref name="directory"/>: <c>prompts_labelled_dev.jsonl</c>, else the first
    /// <c>prompts_labelled*.jsonl</c> there; null when there is none.</summary>
    public static string? LabelledFile(string directory) =>
        DataFiles.In(directory, ["prompts_labelled_dev.jsonl"], "prompts_labelled*.jsonl").FirstOrDefault();
}
