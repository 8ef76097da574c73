using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Router.Core.Analysis;

namespace Router.Core.Tests.Analysis;

public sealed class RegistrationTests
{
    [Fact]
    public void AddRouterCore_gives_a_working_analyzer_bound_to_configuration()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Router:Analysis:UseEmbedding"] = "false" })
            .Build();
        using var provider = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging().AddRouterCore()
            .BuildServiceProvider();

        var analyzer = provider.GetRequiredService<IRequestAnalyzer>();
        var profile = analyzer.Analyze(AnalysisRequest.FromPrompt("translate 'good morning' to Spanish"));

        Assert.False(provider.GetRequiredService<IOptions<RequestAnalyzerOptions>>().Value.UseEmbedding);
        Assert.Equal(TaskType.Translation, profile.Task.Type);
    }

    [Fact]
    public void An_invalid_setting_fails_validation_naming_it()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Router:Analysis:EmbeddingHeadChars"] = "1" })
            .Build();
        using var provider = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging().AddRouterCore()
            .BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RequestAnalyzerOptions>>().Value);

        Assert.Contains("EmbeddingHeadChars", error.Message, StringComparison.Ordinal);
    }
}
