using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Pipeline;
using Router.Http.Auth;
using Router.Http.Errors;

namespace Router.Http.Chat;

/// <summary><c>POST /v1/chat/completions</c>, shared by both hosts.</summary>
public sealed class ChatCompletionsHandler(
    CallerAuthentication authentication,
    ChatPipeline pipeline,
    IOptionsMonitor<RouterOptions> options,
    TimeProvider time)
{
    /// <summary>Handles the request and writes the response.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        var requestId = RouterHttpContext.Begin(context, time);
        var caller = await authentication.AuthenticateAsync(context);
        if (caller is null)
        {
            await ErrorResponse.WriteAsync(context, RouterError.InvalidApiKey());
            return;
        }

        var (body, error) = await RequestBody.ReadAsync(context.Request, options.CurrentValue.MaxRequestBodyBytes, context.RequestAborted);
        if (error is not null)
        {
            await ErrorResponse.WriteAsync(context, error);
            return;
        }

        using (body)
        {
            if (!ChatRequestParser.TryParse(body!.Memory, out var request, out error))
            {
                await ErrorResponse.WriteAsync(context, error);
                return;
            }

            var requestContext = RequestContextFactory.Create(context, requestId, caller, time);
            await pipeline.HandleAsync(requestContext, request, new HttpResponseSink(context.Response), context.RequestAborted);
        }
    }
}
