using BenchmarkDotNet.Attributes;
using Router.Core.Caching;

namespace Router.Benchmarks;

/// <summary>Cost of the semantic guards: feature extraction per prompt, then the check per candidate.</summary>
[MemoryDiagnoser]
public class SemanticGuardBenchmarks
{
    private readonly SemanticGuard _guard = new(new SemanticGuardOptions());
    private PromptFeatures _shortA = null!;
    private PromptFeatures _shortB = null!;
    private PromptFeatures _longA = null!;
    private PromptFeatures _longB = null!;

    [GlobalSetup]
    public void Setup()
    {
        _shortA = PromptFeatures.Extract(CachePrompts.Short);
        _shortB = PromptFeatures.Extract(CachePrompts.ShortParaphrase);
        _longA = PromptFeatures.Extract(CachePrompts.Long);
        _longB = PromptFeatures.Extract(CachePrompts.Long.Replace("hydrogen", "helium", StringComparison.Ordinal));
    }

    [Benchmark]
    public PromptFeatures ExtractShort() => PromptFeatures.Extract(CachePrompts.Short);

    [Benchmark]
    public PromptFeatures ExtractLong() => PromptFeatures.Extract(CachePrompts.Long);

    [Benchmark]
    public GuardVerdict CheckShortPair() => _guard.Check(_shortA, _shortB);

    [Benchmark]
    public GuardVerdict CheckLongPair() => _guard.Check(_longA, _longB);
}
