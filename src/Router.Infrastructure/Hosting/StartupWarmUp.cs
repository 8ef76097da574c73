using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Router.Core.Analysis;

namespace Router.Infrastructure.Hosting;

/// <summary>
/// Builds the analyzer's pattern automata and loads the embedding model (a second or more: the local model is read and
/// quantised) while the host starts, before the server takes requests, so the first request does not pay for them. The
/// analyzer never throws: a model that fails or takes too long only leaves the first request to try again.
/// </summary>
internal sealed partial class StartupWarmUp(IRequestAnalyzer analyzer, ILogger<StartupWarmUp> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // A remote embedding model (Azure OpenAI) is called once too; it gets a few seconds, never the host's whole start.
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromSeconds(15));
        var started = Stopwatch.GetTimestamp();
        try
        {
            await analyzer.AnalyzeAsync(AnalysisRequest.FromPrompt("Summarise the attached release notes in three bullet points."), bounded.Token);
            var elapsed = Stopwatch.GetElapsedTime(started);
            Log.Warm(logger, elapsed.TotalMilliseconds);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Log.Slow(logger);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 1701, Level = LogLevel.Information, Message = "Analyzer and embedding model ready in {Milliseconds:0} ms")]
        public static partial void Warm(ILogger logger, double milliseconds);

        [LoggerMessage(EventId = 1702, Level = LogLevel.Warning, Message = "The embedding model did not answer the start-up warm-up within 15 s; starting without it")]
        public static partial void Slow(ILogger logger);
    }
}
