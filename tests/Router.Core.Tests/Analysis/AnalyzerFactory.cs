using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Router.Core.Analysis;

namespace Router.Core.Tests.Analysis;

internal static class AnalyzerFactory
{
    private static readonly Lazy<TaskModel> Model = new(TaskModel.LoadEmbedded);
    private static readonly Lazy<ComplexityEstimator> Estimator = new(() => new ComplexityEstimator());

    public static RequestAnalyzer Create(IEmbeddingGenerator<string, Embedding<float>>? generator = null, RequestAnalyzerOptions? options = null) =>
        new(Options.Create(options ?? new RequestAnalyzerOptions()), Model.Value, Estimator.Value, generator);

    public static RequestProfile Analyze(string prompt) => Create().Analyze(AnalysisRequest.FromPrompt(prompt));

    public static AnalysisRequest Conversation(params string[] userAndAssistantTurns) =>
        new([.. userAndAssistantTurns.Select((text, i) => new AnalysisMessage(i % 2 == 0 ? "user" : "assistant", text))]);
}
