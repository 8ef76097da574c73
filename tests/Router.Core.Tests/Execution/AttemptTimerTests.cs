using System.Text;
using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Execution;
using Router.Core.Telemetry;

namespace Router.Core.Tests.Execution;

/// <summary>One timer bounds an attempt's wait for the headers and, re-armed, the body read.</summary>
public sealed class AttemptTimerTests
{
    private static readonly CatalogModel Model = new()
    {
        Id = "m",
        Provider = new ProviderDescriptor("p", ProviderType.OpenAI, new Uri("http://127.0.0.1:1/v1"), null, ""),
        UpstreamModel = "m",
        Tier = ModelTier.Economy,
    };

    [Fact]
    public async Task Headers_that_arrive_as_the_attempts_timer_fires_still_get_the_full_time_for_their_body()
    {
        var settings = new ExecutionOptions { AttemptTimeout = TimeSpan.FromMilliseconds(100) };
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var telemetry = new RouterTelemetry(services.GetRequiredService<IMeterFactory>());
        var health = new DeploymentHealthRegistry(Options.Create(settings), TimeProvider.System, telemetry, NullLogger<DeploymentHealthRegistry>.Instance);
        var executor = new ChatExecutor(new LateHeaders(), health, Options.Create(settings), TimeProvider.System, NullLogger<ChatExecutor>.Instance);
        Assert.True(ChatRequestParser.TryParse("""{"model":"m","messages":[{"role":"user","content":"hi"}]}"""u8.ToArray(), out var request, out _));

        await using var result = await executor.ExecuteAsync("req-1", request, [Model], CancellationToken.None);

        Assert.Null(result.Error);
        Assert.Equal("ok", Assert.Single(result.Attempts).Outcome);
        Assert.Equal(1, result.Summary.ChoiceCount);
    }

    /// <summary>A provider whose headers come in just as the attempt's time runs out (the race, made certain).</summary>
    private sealed class LateHeaders : IModelClient
    {
        public async Task<UpstreamResponse> SendAsync(UpstreamRequest request, CancellationToken cancellationToken)
        {
            var fired = new TaskCompletionSource();
            using (cancellationToken.Register(() => fired.TrySetResult()))
            {
                await fired.Task;
            }

            var body = Encoding.UTF8.GetBytes("""{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}""");
            return new UpstreamResponse(200, new MemoryStream(body), "application/json", null, null);
        }
    }
}
