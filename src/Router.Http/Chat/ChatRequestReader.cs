using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Chat;
using Router.Core.Pipeline;
using Router.Http.Auth;
using Router.Http.Errors;

namespace Router.Http.Chat;

/// <summary>The front half of every endpoint that takes a chat-completion body: stamps the request id, authenticates
/// the caller, reads the body within its size limit and parses it, answering each failure in OpenAI's error shape.</summary>
public sealed class ChatRequestReader(CallerAuthentication authentication, IOptionsMonitor<RouterOptions> options, TimeProvider time)
{
    /// <summary>Runs <paramref name="handle"/> with the caller's context and the parsed request, while the pooled body
    /// it was parsed from is still alive; on any failure writes the error instead.</summary>
    public async Task ReadAsync(HttpContext context, Func<RequestContext, ChatRequest, Task> handle)
    {
        var requestId = RouterHttpContext.Begin(context, time);
        var caller = await authentication.AuthenticateAsync(context);
        if (caller is null)
        {
            await ErrorResponse.WriteAsync(context, RouterError.InvalidApiKey());
            return;
        }

        var (body, error) = await RequestBody.ReadAsync(context.Request, options.CurrentValue.MaxRequestBodyBytes, RouterOptions.Section + ":" + nameof(RouterOptions.MaxRequestBodyBytes), context.RequestAborted);
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

            await handle(RequestContextFactory.Create(context, requestId, caller, time), request);
        }
    }
}
