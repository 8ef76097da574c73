using Router.Analysis.Training;
using Router.Core.Analysis;
using Router.Infrastructure.Embeddings;

// Trains the task model shipped as Analysis/Resources/task-model.json.
//   dotnet run -c Release --project training -- --data /work/shared/data --out Analysis/Resources/task-model.json
var arguments = CommandLine.Parse(args);
var data = arguments.GetValueOrDefault("data", "/work/shared/data");
var output = arguments.GetValueOrDefault("out", "task-model.json");
var cache = arguments.GetValueOrDefault("cache", Path.Combine(Path.GetTempPath(), "router-analysis-cache"));
var maxTokens = int.Parse(arguments.GetValueOrDefault("max-tokens", "128"), System.Globalization.CultureInfo.InvariantCulture);
var quantize = !arguments.ContainsKey("float");

var rows = LabelledData.Load(data, Console.WriteLine).Where(r => r.Task is not null).ToList();
Console.WriteLine($"{rows.Count} labelled rows from {data}");
if (rows.Count == 0)
{
    Console.Error.WriteLine($"No rows with a known task_type in {data}: nothing to train on.");
    return 2;
}

using var generator = new MiniLmEmbeddingGenerator(new MiniLmEmbeddingOptions { MaxTokens = maxTokens, Quantize = quantize });
var tag = $"minilm{(quantize ? "-int8" : "")}-{maxTokens}";
var examples = FeatureSet.Build(rows, generator, tag, cache);
var file = TaskModel.Validate(TaskModelTrainer.Train(
    examples,
    $"Trained on {rows.Count} rows of {string.Join(", ", LabelledData.DefaultFiles)} (open_qa_advice split by content); softmax regression, L2 full {TaskModelTrainer.FullL2} / keywords {TaskModelTrainer.FastL2} / lexical {TaskModelTrainer.LexicalL2}.",
    $"all-MiniLM-L6-v2{(quantize ? "-int8" : "")} window {maxTokens} tokens"));
await using (var stream = File.Create(output))
{
    TaskModel.Write(file, stream);
}

Console.WriteLine($"wrote {output} ({new FileInfo(output).Length / 1024} KiB)");
return 0;

internal static class CommandLine
{
    public static Dictionary<string, string> Parse(string[] args)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                continue;
            }

            var key = args[i][2..];
            var value = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
            result[key] = value;
        }

        return result;
    }
}
