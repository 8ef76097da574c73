using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Router.Benchmarks;

// dotnet run -c Release --project bench/Router.Benchmarks -- --filter '*'            every BenchmarkDotNet suite
// dotnet run -c Release --project bench/Router.Benchmarks -- latency 10000 100000 1000000   cache lookup p50/p99 harness
// dotnet run -c Release --project bench/Router.Benchmarks -- analysis-latency [data folder] [files…]   analysis over real prompts
if (args.Length > 0 && args[0] == "latency")
{
    var sizes = args.Length > 1 ? args[1..].Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray() : [10_000, 100_000, 1_000_000];
    LatencyHarness.Run(sizes);
    return;
}

if (args.Length > 0 && args[0] == "analysis-latency")
{
    var data = args.Length > 1 ? args[1] : Path.Combine("..", "shared", "data");
    string[] files = args.Length > 2 ? args[2..] : ["prompts_labelled_dev.jsonl", "task_types_dev.jsonl"];
    await AnalysisLatencyHarness.RunAsync(data, files);
    return;
}

// In-process, so the large cache indexes are built once per size (a 1M index takes minutes on this machine).
var config = DefaultConfig.Instance
    .AddJob(Job.Default
        .WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(30), logOutput: true))
        .WithWarmupCount(3)
        .WithIterationCount(12)
        .WithLaunchCount(1))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(RequestParsingBenchmarks).Assembly).Run(args, config);
