using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Router.Integration.Tests.Functions;

/// <summary>The Functions app's service graph (what <c>Program.cs</c> registers), without the Functions host, so the
/// function classes can be invoked directly.</summary>
public sealed class FunctionsHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public FunctionsHost(IDictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddRouterHttp();
        services.AddTransient<Router.Functions.HttpFunctions>();
        services.AddTransient<Router.Functions.AdminFunctions>();
        services.AddTransient<Router.Functions.BackgroundFunctions>();
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public T Get<T>()
        where T : notnull => _services.GetRequiredService<T>();

    /// <summary>A function class (any of the app's), with its dependencies from the app's services.</summary>
    public object Create(Type functionClass) => ActivatorUtilities.CreateInstance(_services, functionClass);

    /// <summary>A request as the Functions ASP.NET Core integration hands it to a trigger.</summary>
    public DefaultHttpContext Request(string method, string path, string? body = null, string? apiKey = null)
    {
        var context = new DefaultHttpContext { RequestServices = _services };
        context.Request.Method = method;
        context.Request.Path = path;
        context.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
        if (body is not null)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            context.Request.Body = new MemoryStream(bytes);
            context.Request.ContentLength = bytes.Length;
            context.Request.ContentType = "application/json";
        }

        if (apiKey is not null)
        {
            context.Request.Headers.Authorization = "Bearer " + apiKey;
        }

        context.Response.Body = new MemoryStream();
        return context;
    }

    /// <summary>Executes a function's result the way the host does and returns the response body.</summary>
    public static async Task<string> CompleteAsync(HttpContext context, IActionResult result)
    {
        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
        context.Response.Body.Position = 0;
        return await new StreamReader(context.Response.Body).ReadToEndAsync();
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
