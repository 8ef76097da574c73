using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using Router.Bench;
using Router.Core.Analysis;
using Router.Infrastructure.Embeddings;

namespace Router.Benchmarks;

/// <summary>
/// Whole-analysis latency over real prompts rather than one fixed text: every prompt of the labelled data files with at
/// most 128 prompt tokens is analysed with the int8 MiniLM embedding (and without it), on one core, and the per-prompt
/// medians are summarised as p50/p90/p99 across prompts and by token band. The embedding costs about a fixed part plus
/// a part per token, so one prompt's figure says little about the distribution a router sees.
/// </summary>
internal static class AnalysisLatencyHarness
{
    private const int MaxPromptTokens = 128;
    private const int Repeats = 5;

    public static async Task RunAsync(string dataDirectory, string[] files)
    {
        PinToOneCore();
        var analyzerOptions = Options.Create(new RequestAnalyzerOptions { MemoEntries = 0 });
        using var embedder = new MiniLmEmbeddingGenerator(new MiniLmEmbeddingOptions { Quantize = true });
        var withEmbedding = new RequestAnalyzer(analyzerOptions, TaskModel.LoadEmbedded(), new ComplexityEstimator(), embedder);
        var withoutEmbedding = new RequestAnalyzer(Options.Create(new RequestAnalyzerOptions { MemoEntries = 0, UseEmbedding = false }), TaskModel.LoadEmbedded(), new ComplexityEstimator());
        withEmbedding.WarmUp();
        withoutEmbedding.WarmUp();

        List<(AnalysisRequest Request, int Tokens, int ModelTokens)> prompts = [];
        var total = 0;
        var skipped = new SkippedRows();
        foreach (var file in files)
        {
            foreach (var (_, row) in JsonLines.Read(Path.Combine(dataDirectory, file), skipped))
            {
                if (JsonLines.String(row, "prompt") is not { } prompt)
                {
                    skipped.Add("no prompt");
                    continue;
                }

                total++;
                var request = AnalysisRequest.FromPrompt(prompt);
                var tokens = withoutEmbedding.Analyze(request).PromptTokens;
                if (tokens <= MaxPromptTokens)
                {
                    prompts.Add((request, tokens, embedder.Tokenize(withEmbedding.GetEmbeddingText(request)).Count));
                }
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{prompts.Count} of {total} prompts in {string.Join(", ", files)} have at most {MaxPromptTokens} prompt tokens (o200k); " +
            $"MiniLM window {embedder.MaxTokens} word pieces; one core (affinity {PinnedTo()}), load average {LoadAverage()}{(skipped.Total > 0 ? "; " + skipped : "")}"));

        // Warm-up: JIT tiers, ONNX Runtime's buffers for every length.
        foreach (var (request, _, _) in prompts)
        {
            await withEmbedding.AnalyzeAsync(request);
            withoutEmbedding.Analyze(request);
        }

        var full = new double[prompts.Count];
        var fullCpu = new double[prompts.Count];
        var lexical = new double[prompts.Count];
        var samples = new double[Repeats];
        var cpuSamples = new double[Repeats];
        for (var i = 0; i < prompts.Count; i++)
        {
            var request = prompts[i].Request;
            for (var r = 0; r < Repeats; r++)
            {
                var cpuStart = ThreadCpu.NowMicros();
                var start = Stopwatch.GetTimestamp();
                await withEmbedding.AnalyzeAsync(request);
                samples[r] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                cpuSamples[r] = ThreadCpu.NowMicros() - cpuStart;
            }

            full[i] = Median(samples);
            fullCpu[i] = Median(cpuSamples);
            for (var r = 0; r < Repeats; r++)
            {
                var start = Stopwatch.GetTimestamp();
                withoutEmbedding.Analyze(request);
                samples[r] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }

            lexical[i] = Median(samples);
        }

        Console.WriteLine();
        Console.WriteLine($"Per-prompt median of {Repeats} runs, then across prompts (µs; wall clock, and on-CPU time of the calling thread):");
        Console.WriteLine("| prompts | o200k tokens | count | median tokens | with embedding p50 | p90 | p99 | on-CPU p50 | without embedding p50 | p90 | p99 |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        Row("all", 0, MaxPromptTokens);
        foreach (var (low, high) in new[] { (0, 32), (33, 64), (65, 96), (97, 128) })
        {
            Row("band", low, high);
        }

        Console.WriteLine($"load average at end: {LoadAverage()}");

        void Row(string label, int low, int high)
        {
            var selected = Enumerable.Range(0, prompts.Count).Where(i => prompts[i].Tokens >= low && prompts[i].Tokens <= high).ToArray();
            if (selected.Length == 0)
            {
                return;
            }

            var f = Percentiles(selected.Select(i => full[i]));
            var c = Percentiles(selected.Select(i => fullCpu[i]));
            var l = Percentiles(selected.Select(i => lexical[i]));
            var tokens = Percentiles(selected.Select(i => (double)prompts[i].Tokens));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {low}–{high} | {selected.Length} | {tokens.P50:F0} | {f.P50:F0} | {f.P90:F0} | {f.P99:F0} | {c.P50:F0} | {l.P50:F1} | {l.P90:F1} | {l.P99:F1} |"));
        }
    }

    private static (double P50, double P90, double P99) Percentiles(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return (sorted[sorted.Length / 2], sorted[(int)(sorted.Length * 0.9)], sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * 0.99))]);
    }

    private static double Median(double[] values)
    {
        var copy = (double[])values.Clone();
        Array.Sort(copy);
        return copy[copy.Length / 2];
    }

    private static void PinToOneCore()
    {
        if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows())
        {
            Process.GetCurrentProcess().ProcessorAffinity = 1;
        }
    }

    private static string PinnedTo() =>
        OperatingSystem.IsLinux() || OperatingSystem.IsWindows() ? "0x" + Process.GetCurrentProcess().ProcessorAffinity.ToString("x", CultureInfo.InvariantCulture) : "n/a";

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
