using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Weights;

namespace Router.Infrastructure.Weights;

/// <summary>Reloads the stored weights snapshot on every router so a new version is in use within
/// <see cref="WeightsOptions.RefreshInterval"/>.</summary>
internal sealed partial class WeightsRefreshService(WeightsRecomputer weights, IOptions<WeightsOptions> options, TimeProvider time, ILogger<WeightsRefreshService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RefreshInterval, time);
        do
        {
            try
            {
                await weights.RefreshAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                Log.RefreshFailed(logger, ex.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1601, Level = LogLevel.Warning, Message = "Weights could not be reloaded ({ExceptionType}); keeping the current snapshot")]
        public static partial void RefreshFailed(ILogger logger, string exceptionType);
    }
}

/// <summary>The self-hosted server's stand-in for the <c>RecomputeWeights</c> timer trigger.</summary>
internal sealed partial class WeightsRecomputeService(WeightsRecomputer weights, IOptions<WeightsOptions> options, TimeProvider time, ILogger<WeightsRecomputeService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await weights.RecomputeAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                Log.RecomputeFailed(logger, ex.GetType().Name);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1602, Level = LogLevel.Error, Message = "Weights recompute failed ({ExceptionType}); the next run will try again")]
        public static partial void RecomputeFailed(ILogger logger, string exceptionType);
    }
}
