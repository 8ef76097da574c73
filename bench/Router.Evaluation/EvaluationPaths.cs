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
}
