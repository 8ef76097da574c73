using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAI;
using OpenAI.Chat;
using Router.Server;
using Router.Testing.Simulator;

namespace Router.Integration.Tests;

/// <summary>A real <c>Router.Server</c> on a free loopback port, configured by in-memory settings.</summary>
public sealed class RouterServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly LogCapture _logs;

    private RouterServerHost(WebApplication app, Uri baseUrl, LogCapture logs)
    {
        _app = app;
        _logs = logs;
        BaseUrl = baseUrl;
        Http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>Root URL of the router, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>A plain client for raw requests.</summary>
    public HttpClient Http { get; }

    /// <summary>Every line the router logged so far.</summary>
    public IReadOnlyCollection<string> LogLines => _logs.Lines;

    /// <summary>The app's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Settings for a catalog of three simulated models (economy, standard, premium) on <paramref name="simulator"/>.</summary>
    public static Dictionary<string, string?> SimulatedCatalog(SimulatedProvider simulator) => new()
    {
        ["Router:Providers:sim:Endpoint"] = simulator.BaseUrl.ToString(),
        ["Router:Models:sim-small:Provider"] = "sim",
        ["Router:Models:sim-small:Tier"] = "Economy",
        ["Router:Models:sim-small:InputCostPerMillion"] = "0.15",
        ["Router:Models:sim-small:OutputCostPerMillion"] = "0.60",
        ["Router:Models:sim-medium:Provider"] = "sim",
        ["Router:Models:sim-medium:Tier"] = "Standard",
        ["Router:Models:sim-medium:InputCostPerMillion"] = "0.40",
        ["Router:Models:sim-medium:OutputCostPerMillion"] = "1.60",
        ["Router:Models:sim-large:Provider"] = "sim",
        ["Router:Models:sim-large:Tier"] = "Premium",
        ["Router:Models:sim-large:InputCostPerMillion"] = "2.50",
        ["Router:Models:sim-large:OutputCostPerMillion"] = "10.00",
    };

    /// <summary>Builds and starts the server with <paramref name="settings"/> over its defaults.</summary>
    public static async Task<RouterServerHost> StartAsync(
        IDictionary<string, string?> settings, Action<WebApplicationBuilder>? configure = null)
    {
        foreach (var (name, value) in settings)
        {
            if (value is not null && (name.EndsWith(":Key", StringComparison.Ordinal) || name.EndsWith("AdminKey", StringComparison.Ordinal) || name.EndsWith("ApiKey", StringComparison.Ordinal)))
            {
                SensitiveValues.Register(value);
            }
        }

        var logs = new LogCapture();
        var app = RouterServer.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            builder.Logging.AddProvider(logs);
            configure?.Invoke(builder);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RouterServerHost(app, new Uri(address.TrimEnd('/') + "/"), logs);
    }

    /// <summary>An official OpenAI SDK chat client pointed at the router, with SDK retries off.</summary>
    public ChatClient ChatClient(string model, string apiKey = "no-key-needed-on-loopback") =>
        new(model, new ApiKeyCredential(apiKey), new OpenAIClientOptions
        {
            Endpoint = new Uri(BaseUrl, "v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(30),
        });

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();

        // Every line this router logged, over the whole test, is checked for keys and prompts.
        _logs.AssertNoSensitiveValues();
    }
}
