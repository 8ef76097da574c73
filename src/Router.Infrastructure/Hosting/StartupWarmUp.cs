using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Router.Core.Analysis;

namespace Router.Infrastructure.Hosting;

/// <summary>
/// Builds the analyzer's pattern automata and loads the embedding model (a second or more: the local model is read and
/// quantised) while the host starts, before the server takes requests, so the first request does not pay for them.
/// </summary>
internal sealed partial class StartupWarmUp(IRequestAnalyzer analyzer, ILogger<StartupWarmUp> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await analyzer.AnalyzeAsync(AnalysisRequest.FromPrompt("Summarise the attached release notes in three bullet points."), cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started);
        Log.Warm(logger, elapsed.TotalMilliseconds);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 1701, Level = LogLevel.Information, Message = "Analyzer and embedding model ready in {Milliseconds:0} ms")]
        public static partial void Warm(ILogger logger, double milliseconds);
    }
}
