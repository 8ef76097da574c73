using Router.Core.Analysis;

namespace Router.Core.Tests.Routing;

/// <summary>Hand-built analysis results for routing tests.</summary>
internal static class Profiles
{
    public static RequestProfile Of(
        TaskType task, double complexity, RiskLevel risk = RiskLevel.None, RiskCategory[]? categories = null,
        int promptTokens = 50, bool images = false) => new()
    {
        Task = new TaskPrediction(task, 0.9, TaskType.Chat, 0.05, TaskSource.Keywords),
        Risk = new RiskAssessment(risk, categories ?? [], []),
        PromptTokens = promptTokens,
        ExpectedOutputTokens = 200,
        HasImages = images,
        Signals = new StructuralSignals(),
        Complexity = (int)Math.Round(complexity),
        ComplexityScore = complexity,
    };
}
