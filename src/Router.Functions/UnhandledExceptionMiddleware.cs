using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Router.Core.Chat;
using Router.Http;
using Router.Http.Errors;

namespace Router.Functions;

/// <summary>Turns an unhandled exception in an HTTP function into an OpenAI-style 500 (never a stack trace), except for a
/// client that went away, which is logged at debug level only; other triggers rethrow so the host retries them and, for
/// queues, moves them to the poison queue.</summary>
internal sealed partial class UnhandledExceptionMiddleware(ILogger<UnhandledExceptionMiddleware> logger) : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && context.GetHttpContext() is { RequestAborted.IsCancellationRequested: true })
        {
            // The client went away (its request aborted): nobody is left to answer, and it is no failure of the router, as
            // ASP.NET Core's own exception handler treats it on the self-hosted server.
            Log.ClientGone(logger, context.FunctionDefinition.Name, context.InvocationId);
        }
        catch (Exception ex) when (context.GetHttpContext() is { } http)
        {
            var requestId = RouterHttpContext.Begin(http, context.InstanceServices.GetRequiredService<TimeProvider>());
            Log.Unhandled(logger, context.FunctionDefinition.Name, requestId, ex.GetType().Name);
            await ErrorResponse.WriteAsync(http, RouterError.Internal(requestId));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Function {Function} failed for request {RequestId} with an unhandled {ExceptionType}")]
        public static partial void Unhandled(ILogger logger, string function, string requestId, string exceptionType);

        [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Function {Function} (invocation {InvocationId}) stopped: the client went away")]
        public static partial void ClientGone(ILogger logger, string function, string invocationId);
    }
}
