using Microsoft.AspNetCore.Http;
using Router.Core.Pipeline;

namespace Router.Http.Chat;

/// <summary><c>POST /v1/chat/completions</c>, shared by both hosts.</summary>
public sealed class ChatCompletionsHandler(ChatRequestReader reader, ChatPipeline pipeline)
{
    /// <summary>Handles the request and writes the response.</summary>
    public Task HandleAsync(HttpContext context) =>
        reader.ReadAsync(context, (requestContext, request) =>
            pipeline.HandleAsync(requestContext, request, new HttpResponseSink(context.Response), context.RequestAborted));
}
