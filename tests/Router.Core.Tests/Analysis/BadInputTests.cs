using Microsoft.Extensions.AI;
using Router.Core.Analysis;

namespace Router.Core.Tests.Analysis;

public sealed class BadInputTests
{
    public static TheoryData<AnalysisRequest> Requests => new()
    {
        new AnalysisRequest([]),
        new AnalysisRequest([new AnalysisMessage("user", "")]),
        new AnalysisRequest([new AnalysisMessage("user", "   \n\t  ")]),
        new AnalysisRequest([new AnalysisMessage("user", null)]),
        new AnalysisRequest([new AnalysisMessage("user", null, HasImage: true)]),
        new AnalysisRequest([new AnalysisMessage("system", "You are terse."), new AnalysisMessage("user", "What is in this picture?", HasImage: true)]),
        new AnalysisRequest([new AnalysisMessage(null!, "hi"), null!]),
        new AnalysisRequest(null!),
        AnalysisRequest.FromPrompt("broken \uD800 surrogate \uDC00 pairs \uD83D"),
        AnalysisRequest.FromPrompt("\uDFFF"),
        AnalysisRequest.FromPrompt("مرحبا، كيف حالك؟ أريد ترجمة هذه الجملة"),
        AnalysisRequest.FromPrompt("สวัสดีครับ ช่วยสรุปบทความนี้ให้หน่อย"),
        AnalysisRequest.FromPrompt("안녕하세요 이 코드를 고쳐 주세요"),
        AnalysisRequest.FromPrompt("Привет! Напиши формулу для площади круга"),
        AnalysisRequest.FromPrompt("🙂🙃🙂🙃"),
        AnalysisRequest.FromPrompt(new string('x', 1_000_000)),
        AnalysisRequest.FromPrompt(string.Concat(Enumerable.Repeat("Summarize this paragraph about cats. 😀 ", 30_000))),
        new AnalysisRequest([new AnalysisMessage("user", "a"), new AnalysisMessage("tool", "{\"x\":1}")], HasTools: true, ResponseFormatType: "json_object", MaxTokens: -5),
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void Analysis_always_returns_a_profile(AnalysisRequest request)
    {
        var analyzer = AnalyzerFactory.Create();

        var profile = analyzer.Analyze(request);

        Assert.NotNull(profile);
        Assert.NotNull(profile.Task);
        Assert.NotNull(profile.Risk);
        Assert.InRange(profile.ExpectedOutputTokens, 1, 32_000);
        Assert.True(profile.PromptTokens >= 0);
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Analysis_with_a_failing_embedding_model_still_returns_a_profile(AnalysisRequest request)
    {
        var analyzer = AnalyzerFactory.Create(new ThrowingGenerator());

        var profile = await analyzer.AnalyzeAsync(request);

        Assert.NotNull(profile);
        Assert.False(profile.UsedEmbedding);
    }

    [Fact]
    public void An_empty_prompt_is_chat_from_the_empty_source()
    {
        var profile = AnalyzerFactory.Analyze("   ");

        Assert.Equal(TaskSource.Empty, profile.Task.Source);
        Assert.Equal(RiskLevel.None, profile.Risk.Level);
    }

    [Fact]
    public void The_embedding_text_of_a_megabyte_prompt_is_bounded_and_keeps_both_ends()
    {
        var options = new RequestAnalyzerOptions();
        var prompt = "BEGINNING " + new string('y', 1_000_000) + " THE END";

        var text = AnalyzerFactory.Create(options: options).GetEmbeddingText(AnalysisRequest.FromPrompt(prompt));

        Assert.True(text.Length <= options.EmbeddingHeadChars + options.EmbeddingTailChars + 8, $"{text.Length} chars");
        Assert.StartsWith("BEGINNING", text, StringComparison.Ordinal);
        Assert.EndsWith("THE END", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Images_tools_and_response_format_are_reported()
    {
        var profile = AnalyzerFactory.Create().Analyze(new AnalysisRequest(
            [new AnalysisMessage("user", "Describe this chart", HasImage: true)], HasTools: true, ResponseFormatType: "json_schema", MaxTokens: 50));

        Assert.True(profile.HasImages);
        Assert.True(profile.HasTools);
        Assert.Equal(OutputFormat.Json, profile.RequestedFormat);
        Assert.True(profile.ExpectedOutputTokens <= 50);
    }

    private sealed class ThrowingGenerator : IEmbeddingGenerator<string, Embedding<float>>
    {
        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("model unavailable");

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
