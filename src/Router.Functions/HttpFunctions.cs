using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Router.Http.Catalog;
using Router.Http.Chat;
using Router.Http.Health;
using Router.Http.Metering;
using Router.Http.Routing;

namespace Router.Functions;

/// <summary>The HTTP triggers: each hands the request to the handler the self-hosted server uses too.</summary>
public sealed class HttpFunctions(
    ChatCompletionsHandler chat,
    RoutePreviewHandler route,
    ModelsHandler models,
    HealthHandler health,
    UsageHandler usage)
{
    /// <summary><c>POST /v1/chat/completions</c>.</summary>
    [Function(nameof(ChatCompletions))]
    public async Task<IActionResult> ChatCompletions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/chat/completions")] HttpRequest request)
    {
        await chat.HandleAsync(request.HttpContext);
        return new EmptyResult();
    }

    /// <summary><c>POST /v1/route</c>.</summary>
    [Function(nameof(Route))]
    public async Task<IActionResult> Route(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/route")] HttpRequest request)
    {
        await route.HandleAsync(request.HttpContext);
        return new EmptyResult();
    }

    /// <summary><c>GET /v1/models</c>.</summary>
    [Function(nameof(Models))]
    public async Task<IActionResult> Models(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/models")] HttpRequest request)
    {
        await models.HandleAsync(request.HttpContext);
        return new EmptyResult();
    }

    /// <summary><c>GET /v1/models/{id}</c>. A catch-all may be empty, so this route matches <c>/v1/models</c> too, and the
    /// host, which tries longer routes first, hands it that request: without an id it is the list.</summary>
    [Function(nameof(Model))]
    public async Task<IActionResult> Model(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/models/{*id}")] HttpRequest request, string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            await models.HandleAsync(request.HttpContext);
        }
        else
        {
            await models.RetrieveAsync(request.HttpContext, id);
        }

        return new EmptyResult();
    }

    /// <summary><c>GET /health</c> and <c>HEAD /health</c>.</summary>
    [Function(nameof(Health))]
    public async Task<IActionResult> Health(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "head", Route = "health")] HttpRequest request)
    {
        await health.HandleAsync(request.HttpContext);
        return new EmptyResult();
    }

    /// <summary><c>GET /v1/usage</c>.</summary>
    [Function(nameof(Usage))]
    public async Task<IActionResult> Usage(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/usage")] HttpRequest request)
    {
        await usage.HandleAsync(request.HttpContext);
        return new EmptyResult();
    }
}
