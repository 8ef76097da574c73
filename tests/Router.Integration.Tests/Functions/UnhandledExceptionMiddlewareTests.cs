using System.Collections.Immutable;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Router.Functions;

namespace Router.Integration.Tests.Functions;

/// <summary>The Functions worker's last line of defence: a real failure becomes an OpenAI-style 500 and an error in the
/// log, while a client that went away (its request aborted) is neither answered nor logged as a failure of the router.</summary>
public sealed class UnhandledExceptionMiddlewareTests
{
    [Fact]
    public async Task A_client_that_went_away_is_not_logged_as_an_unhandled_failure_nor_answered_with_a_500()
    {
        var logs = new LogCapture();
        var (function, http) = Invocation(logs);
        using var aborted = new CancellationTokenSource();
        http.RequestAborted = aborted.Token;
        await aborted.CancelAsync();

        await new UnhandledExceptionMiddleware(new LoggerFactory([logs]).CreateLogger<UnhandledExceptionMiddleware>())
            .Invoke(function, _ => Task.FromException(new OperationCanceledException(aborted.Token)));

        Assert.DoesNotContain(logs.Lines, l => l.StartsWith("Error ", StringComparison.Ordinal));
        Assert.NotEqual(StatusCodes.Status500InternalServerError, http.Response.StatusCode);
        Assert.Equal(0, http.Response.Body.Length);
    }

    [Fact]
    public async Task A_real_failure_is_answered_with_a_500_in_openai_shape_and_logged_as_an_error()
    {
        var logs = new LogCapture();
        var (function, http) = Invocation(logs);

        await new UnhandledExceptionMiddleware(new LoggerFactory([logs]).CreateLogger<UnhandledExceptionMiddleware>())
            .Invoke(function, _ => Task.FromException(new InvalidOperationException("a bug")));

        Assert.Contains(logs.Lines, l => l.StartsWith("Error ", StringComparison.Ordinal) && l.Contains("InvalidOperationException", StringComparison.Ordinal));
        Assert.Equal(StatusCodes.Status500InternalServerError, http.Response.StatusCode);
        http.Response.Body.Position = 0;
        var body = await new StreamReader(http.Response.Body).ReadToEndAsync();
        Assert.Contains("\"internal_error\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("a bug", body, StringComparison.Ordinal);
    }

    private static (FunctionContext Function, DefaultHttpContext Http) Invocation(LogCapture logs)
    {
        var services = new ServiceCollection()
            .AddSingleton(TimeProvider.System)
            .AddLogging(b => b.AddProvider(logs))
            .BuildServiceProvider();
        var http = new DefaultHttpContext { RequestServices = services };
        http.Response.Body = new MemoryStream();
        return (new HttpFunctionContext(services, http), http);
    }

    // An HTTP invocation as the ASP.NET Core integration sets it up: the HttpContext under "HttpRequestContext".
    private sealed class HttpFunctionContext(IServiceProvider services, HttpContext http) : FunctionContext
    {
        public override string InvocationId => "invocation-1";

        public override string FunctionId => "function-1";

        public override TraceContext TraceContext => null!;

        public override BindingContext BindingContext => null!;

        public override RetryContext RetryContext => null!;

        public override IServiceProvider InstanceServices { get; set; } = services;

        public override FunctionDefinition FunctionDefinition { get; } = new ChatDefinition();

        public override IDictionary<object, object> Items { get; set; } = new Dictionary<object, object> { ["HttpRequestContext"] = http };

        public override IInvocationFeatures Features => null!;
    }

    private sealed class ChatDefinition : FunctionDefinition
    {
        public override ImmutableArray<FunctionParameter> Parameters => [];

        public override string PathToAssembly => "";

        public override string EntryPoint => "";

        public override string Id => "function-1";

        public override string Name => nameof(HttpFunctions.ChatCompletions);

        public override IImmutableDictionary<string, BindingMetadata> InputBindings => ImmutableDictionary<string, BindingMetadata>.Empty;

        public override IImmutableDictionary<string, BindingMetadata> OutputBindings => ImmutableDictionary<string, BindingMetadata>.Empty;
    }
}
