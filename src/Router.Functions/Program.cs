using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Router.Core.Telemetry;
using Router.Functions;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<UnhandledExceptionMiddleware>();
builder.Services.AddRouterHttp();

// Router metrics and traces go to Application Insights with the app's managed identity.
var telemetry = builder.Services.AddOpenTelemetry()
    .UseFunctionsWorkerDefaults()
    .WithMetrics(metrics => metrics.AddMeter(RouterTelemetry.Name).AddHttpClientInstrumentation())
    .WithTracing(tracing => tracing.AddSource(RouterTelemetry.Name).AddHttpClientInstrumentation());
if (!string.IsNullOrEmpty(builder.Configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"]))
{
    telemetry.UseAzureMonitorExporter(options => options.Credential = new DefaultAzureCredential());
}

builder.Build().Run();
