using System.Net;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Chat;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Router.Core.Metering;
using Router.Core.Telemetry;
using Router.Http;
using Router.Infrastructure;
using Router.Http.Errors;

namespace Router.Server;

/// <summary>The self-hosted router: the shared endpoints on Kestrel, runnable with no configuration at all.</summary>
public static partial class RouterServer
{
    /// <summary>Default address when neither <c>--urls</c> nor <c>ASPNETCORE_URLS</c> says otherwise.</summary>
    public const string DefaultUrl = "http://127.0.0.1:7071";

    /// <summary>Tenant served without a key on loopback while no keys exist.</summary>
    public const string LocalTenant = "local";

    /// <summary>Builds the app; <paramref name="configure"/> lets tests add configuration or replace services.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        AddShippedSettings(builder);
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.Services.AddRouterHttp(hosting => hosting.RunBackgroundWork = true);
        var loopbackOnly = AllLoopback(builder.Configuration[WebHostDefaults.ServerUrlsKey] ?? DefaultUrl);
        builder.Services.Configure<RouterHttpOptions>(o => o.AnonymousLoopbackTenant = loopbackOnly ? LocalTenant : null);
        AddRequestLimits(builder);
        AddTelemetry(builder);
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseExceptionHandler(errorApp => errorApp.Run(context =>
        {
            var requestId = RouterHttpContext.Begin(context, context.RequestServices.GetRequiredService<TimeProvider>());
            var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
            Log.Unhandled(context.RequestServices.GetRequiredService<ILogger<WebApplication>>(), requestId, exception?.GetType().Name ?? "unknown");
            return ErrorResponse.WriteAsync(context, RouterError.Internal(requestId));
        }));
        app.UseMiddleware<RequestHeaderLimits>();
        app.MapRouterEndpoints();
        app.Lifetime.ApplicationStarted.Register(() => _ = AnnounceAsync(app));
        return app;
    }

    /// <summary>
    /// The <c>appsettings.json</c> shipped beside the binary is the lowest configuration layer wherever the process was
    /// started from. ASP.NET Core reads <c>appsettings.json</c> from the content root, which is the working directory, so
    /// <c>dotnet /opt/router/Router.Server.dll</c> started anywhere else silently lost the shipped log levels (among them
    /// the one that stops a hosting <c>Activity</c> per request). A file in the working directory, environment
    /// variables and the command line still override it.
    /// </summary>
    internal static void AddShippedSettings(WebApplicationBuilder builder)
    {
        var shipped = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        var contentRoot = Path.Combine(builder.Environment.ContentRootPath, "appsettings.json");
        if (!File.Exists(shipped) || string.Equals(Path.GetFullPath(shipped), Path.GetFullPath(contentRoot), StringComparison.Ordinal))
        {
            return;
        }

        var source = new JsonConfigurationSource { Path = shipped, Optional = true, ReloadOnChange = false };
        source.ResolveFileProvider();
        ((IConfigurationBuilder)builder.Configuration).Sources.Insert(0, source);
    }

    // Kestrel refuses a request over its own line and header limits before any middleware runs, with no body. They are
    // set to twice the router's, so a request up to that size reaches RequestHeaderLimits and gets an OpenAI-style 414
    // or 431 naming the setting; beyond it Kestrel still refuses it, which keeps a request's header memory bounded.
    private static void AddRequestLimits(WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RouterServerOptions>().BindConfigurationStrictly(RouterServerOptions.Section).ValidateDataAnnotations();
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<RouterServerOptions>>((kestrel, options) =>
        {
            var limits = options.Value;
            kestrel.Limits.MaxRequestLineSize = 2 * limits.MaxRequestLineBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 2 * limits.MaxRequestHeadersTotalBytes;
            kestrel.Limits.MaxRequestHeaderCount = 2 * limits.MaxRequestHeaderCount;
        });
    }

    // Metrics and traces of the Router meter and source; exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set,
    // to the console when Router:Telemetry:Console is true. With neither, nothing listens, so spans are not even created.
    private static void AddTelemetry(WebApplicationBuilder builder)
    {
        var otlp = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var console = builder.Configuration.GetValue<bool>("Router:Telemetry:Console");
        if (!otlp && !console)
        {
            return;
        }

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("router-server"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(RouterTelemetry.Name).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }

                if (console)
                {
                    metrics.AddConsoleExporter();
                }
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource(RouterTelemetry.Name).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }

                if (console)
                {
                    tracing.AddConsoleExporter();
                }
            });
    }

    private static async Task AnnounceAsync(WebApplication app)
    {
        var catalog = app.Services.GetRequiredService<ModelCatalog>();
        var stores = app.Services.GetRequiredService<StoreInventory>();
        var keys = app.Services.GetRequiredService<IApiKeyStore>();
        var anonymous = app.Services.GetRequiredService<IOptions<RouterHttpOptions>>().Value.AnonymousLoopbackTenant;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var providers = catalog.Providers.Count == 0
            ? "no providers (chat requests answer 503 until one is configured; see README)"
            : "providers " + string.Join(", ", catalog.Providers.Select(p => $"{p.Name} ({p.Type}, {catalog.Models.Count(m => m.Provider == p)} models)"));
        string access;
        try
        {
            access = anonymous is not null && !await keys.HasKeysAsync(CancellationToken.None)
                ? $"tenant '{anonymous}' served without a key on loopback"
                : "API keys required";
        }
        catch (Exception ex)
        {
            // The line is written by a task no one awaits: a failure here would vanish, and the line with it.
            Log.KeyStoreUnavailable(app.Logger, ex.GetType().Name);
            access = anonymous is not null
                ? $"tenant '{anonymous}' served without a key on loopback while no keys exist (the key store could not be read at start)"
                : "API keys required";
        }

        if (app.Logger.IsEnabled(LogLevel.Information))
        {
            var listening = string.Join(", ", addresses);
            var inMemory = stores.InMemory.Count == 0 ? "none" : string.Join(", ", stores.InMemory);
            Log.Started(app.Logger, listening, providers, inMemory, access);
        }
    }

    internal static bool AllLoopback(string urls) => urls
        .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .All(url => Uri.TryCreate(url.Replace("*", "0.0.0.0", StringComparison.Ordinal).Replace("+", "0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
                    && (uri.IsLoopback || IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip)));

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Router listening on {Addresses}; {Providers}; in memory: {Stores}; {Access}.")]
        public static partial void Started(ILogger logger, string addresses, string providers, string stores, string access);

        [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Request {RequestId} failed with an unhandled {ExceptionType}")]
        public static partial void Unhandled(ILogger logger, string requestId, string exceptionType);

        [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "The key store could not be read at start ({ExceptionType}); each request checks it again")]
        public static partial void KeyStoreUnavailable(ILogger logger, string exceptionType);
    }
}
