using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Router.Testing.Simulator;

/// <summary>An OpenAI-compatible chat completions server on loopback with deterministic answers, usage counts,
/// streaming and per-model fault injection. It records every body it receives.</summary>
public sealed class SimulatedProvider : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ModelBehavior> _behaviors = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<ReceivedRequest> _received = new();
    private readonly ConcurrentDictionary<string, int> _answered = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _answeredRequestIds = new();
    private readonly int _seed;
    private WebApplication? _app;
    private int _completedStreams;

    private SimulatedProvider(int seed) => _seed = seed;

    /// <summary>Root URL of the server, e.g. <c>http://127.0.0.1:12345/</c> (for Azure OpenAI-style providers).</summary>
    public Uri RootUrl => new(BaseUrl, "/");

    /// <summary>Base URL to configure as a provider endpoint, e.g. <c>http://127.0.0.1:12345/v1</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>Whether requests are recorded (turn off for load runs).</summary>
    public bool RecordRequests { get; set; } = true;

    /// <summary>Settings copied into a model's behaviour when it is first seen.</summary>
    public ModelBehavior DefaultBehavior { get; } = new(0);

    /// <summary>Every request received, in arrival order.</summary>
    public IReadOnlyList<ReceivedRequest> Received => _received.ToArray();

    /// <summary>Streams that reached <c>[DONE]</c>.</summary>
    public int CompletedStreams => Volatile.Read(ref _completedStreams);

    /// <summary>Starts on 127.0.0.1 (port 0 picks a free one).</summary>
    public static async Task<SimulatedProvider> StartAsync(int port = 0, int seed = 42, CancellationToken cancellationToken = default)
    {
        var simulator = new SimulatedProvider(seed);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        app.MapPost("/v1/chat/completions", simulator.HandleChatAsync);

        // Azure OpenAI's deployment-style path; the deployment name stands in for the model.
        app.MapPost("/openai/deployments/{deployment}/chat/completions", simulator.HandleChatAsync);
        app.MapPost("/openai/v1/chat/completions", simulator.HandleChatAsync);
        app.MapGet("/v1/models", simulator.HandleModels);
        app.MapPost("/_sim/behavior/{model}", simulator.HandleConfigureAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        simulator.BaseUrl = new Uri(address.TrimEnd('/') + "/v1");
        simulator._app = app;
        return simulator;
    }

    /// <summary>The behaviour of <paramref name="model"/> (created on first use).</summary>
    public ModelBehavior Model(string model) =>
        _behaviors.GetOrAdd(model, m => DefaultBehavior.CopyWithSeed(_seed ^ StableHash(m)));

    private static int StableHash(string value) => BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    /// <summary>Successful answers for <paramref name="model"/> (all models when null).</summary>
    public int Answered(string? model = null) => model is null ? _answered.Values.Sum() : _answered.GetValueOrDefault(model);

    /// <summary>The <c>x-request-id</c> header of every successful answer, in order (empty when a caller sent none).</summary>
    public IReadOnlyList<string> AnsweredRequestIds() => [.. _answeredRequestIds];

    /// <summary>Requests received for <paramref name="model"/>.</summary>
    public int ReceivedFor(string model) => _received.Count(r => r.Model == model);

    /// <summary>Forgets recorded requests and counters (behaviours stay).</summary>
    public void ResetCounters()
    {
        _received.Clear();
        _answered.Clear();
        _answeredRequestIds.Clear();
        Interlocked.Exchange(ref _completedStreams, 0);
    }

    /// <summary>The deterministic answer the simulator gives to <paramref name="prompt"/> when no responder is set.</summary>
    public static string DefaultAnswer(string model, string prompt)
    {
        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(prompt)))[..8];
        return $"Simulated answer {digest} from {model}: the quick brown fox jumps over the lazy dog.";
    }

    /// <summary>Token count the simulator reports for a text: one per four UTF-16 chars, at least one.</summary>
    public static int CountTokens(string text) => Math.Max(1, (text.Length + 3) / 4);

    // A sampling parameter at OpenAI's default, which reasoning models accept though they refuse any other value ("Only
    // the default (1) value is supported").
    private static bool IsOpenAIDefault(string name, JsonNode value) =>
        value.GetValueKind() == JsonValueKind.Number
        && (name, value.GetValue<double>()) is ("temperature" or "top_p", 1) or ("presence_penalty" or "frequency_penalty", 0);

    private async Task HandleChatAsync(HttpContext context)
    {
        JsonObject body;
        string raw;
        using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8))
        {
            raw = await reader.ReadToEndAsync(context.RequestAborted);
        }

        try
        {
            body = JsonNode.Parse(raw)!.AsObject();
        }
        catch (JsonException)
        {
            await WriteErrorAsync(context, 400, "invalid JSON");
            return;
        }

        var model = context.GetRouteValue("deployment") as string ?? body["model"]?.GetValue<string>() ?? "";
        if (RecordRequests)
        {
            var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            context.RequestAborted.Register(() => aborted.TrySetResult());
            _received.Enqueue(new ReceivedRequest(
                model,
                raw,
                context.Request.Path + context.Request.QueryString,
                context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()),
                aborted.Task));
        }

        var behavior = Model(model);
        if (behavior.Latency > TimeSpan.Zero)
        {
            await Task.Delay(behavior.Latency, context.RequestAborted);
        }

        if (behavior.RejectedParameters.Count > 0
            && body.FirstOrDefault(p => p.Value is not null && behavior.RejectedParameters.Contains(p.Key) && !IsOpenAIDefault(p.Key, p.Value)) is { Key: { } rejected })
        {
            // What OpenAI answers when a model lacks a parameter (o-series and temperature, gpt-4o and reasoning_effort).
            context.Response.StatusCode = 400;
            context.Response.ContentType = "application/json";
            var refusal = new JsonObject
            {
                ["error"] = new JsonObject
                {
                    ["message"] = $"Unsupported parameter: '{rejected}' is not supported with this model.",
                    ["type"] = "invalid_request_error",
                    ["param"] = rejected,
                    ["code"] = "unsupported_parameter",
                },
            };
            await context.Response.WriteAsync(refusal.ToJsonString(), context.RequestAborted);
            return;
        }

        var fault = behavior.NextFault();
        switch (fault)
        {
            case SimulatedFault.Reset:
                context.Abort();
                return;
            case SimulatedFault.Hang:
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            case SimulatedFault.Status status:
                if (status.RetryAfter is not null)
                {
                    context.Response.Headers.RetryAfter = status.RetryAfter;
                }

                if (status.RetryAfterMs is not null)
                {
                    context.Response.Headers["retry-after-ms"] = status.RetryAfterMs;
                }

                await WriteErrorAsync(context, status.Code, $"simulated failure {status.Code}");
                return;
            case SimulatedFault.Raw verbatim:
                context.Response.StatusCode = verbatim.Code;
                context.Response.ContentType = verbatim.ContentType;
                if (verbatim.Location is not null)
                {
                    context.Response.Headers.Location = verbatim.Location;
                }

                await context.Response.WriteAsync(verbatim.Body, context.RequestAborted);
                return;
            case SimulatedFault.PartialBody partial:
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("""{"id":"chatcmpl-partial","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"The begin""", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                if (partial.ThenReset)
                {
                    await Task.Delay(100, context.RequestAborted);
                    context.Abort();
                    return;
                }

                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
        }

        var messages = body["messages"]?.AsArray() ?? [];
        var lastUser = messages.LastOrDefault(m => m?["role"]?.GetValue<string>() == "user")?["content"] switch
        {
            JsonValue value when value.TryGetValue<string>(out var text) => text,
            JsonArray parts => string.Join('\n', parts.Select(p => p?["text"]?.GetValue<string>()).Where(t => t is not null)),
            _ => "",
        };
        var chat = new SimulatedChat(model, lastUser, raw);
        var answer = behavior.Responder?.Invoke(chat) ?? DefaultAnswer(model, lastUser);
        var promptTokens = CountTokens(string.Concat(messages.Select(m => m?["content"]?.ToJsonString() ?? "")));
        // n choices, each the same answer, each billed: as a provider bills every choice it generates.
        var choiceCount = Math.Max(1, body["n"]?.GetValue<int>() ?? 1);
        var completionTokens = CountTokens(answer) * choiceCount;
        var id = "chatcmpl-sim-" + Guid.NewGuid().ToString("N")[..12];
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        if (body["stream"]?.GetValue<bool>() == true)
        {
            var includeUsage = body["stream_options"]?["include_usage"]?.GetValue<bool>() == true;
            await StreamAsync(context, behavior, fault, id, created, model, answer, choiceCount, includeUsage, promptTokens, completionTokens);
            return;
        }

        var choices = new JsonArray();
        for (var i = 0; i < choiceCount; i++)
        {
            choices.Add(new JsonObject
            {
                ["index"] = i,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = answer },
                ["finish_reason"] = behavior.FinishReason,
            });
        }

        var completion = new JsonObject
        {
            ["id"] = id,
            ["object"] = "chat.completion",
            ["created"] = created,
            ["model"] = model,
            ["choices"] = choices,
            ["usage"] = Usage(promptTokens, completionTokens),
        };
        Answer(context, model);
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(completion.ToJsonString(), context.RequestAborted);
    }

    private void Answer(HttpContext context, string model)
    {
        _answered.AddOrUpdate(model, 1, (_, n) => n + 1);
        _answeredRequestIds.Enqueue(context.Request.Headers["x-request-id"].ToString());
    }

    private async Task StreamAsync(
        HttpContext context, ModelBehavior behavior, SimulatedFault? fault, string id, long created, string model,
        string answer, int choiceCount, bool includeUsage, int promptTokens, int completionTokens)
    {
        context.Response.ContentType = "text/event-stream";
        await context.Response.StartAsync(context.RequestAborted);
        var words = answer.Split(' ');

        // With n > 1 the choices' deltas interleave, one chunk per choice, as OpenAI streams them.
        var chunks = new List<JsonObject>();
        for (var c = 0; c < choiceCount; c++)
        {
            chunks.Add(Chunk(id, created, model, new JsonObject { ["role"] = "assistant", ["content"] = "" }, null, c));
        }

        for (var w = 0; w < words.Length; w++)
        {
            for (var c = 0; c < choiceCount; c++)
            {
                chunks.Add(Chunk(id, created, model, new JsonObject { ["content"] = w == 0 ? words[w] : " " + words[w] }, null, c));
            }
        }

        for (var c = 0; c < choiceCount; c++)
        {
            chunks.Add(Chunk(id, created, model, new JsonObject(), behavior.FinishReason, c));
        }
        var sent = 0;
        foreach (var chunk in chunks)
        {
            if (fault is SimulatedFault.ErrorInStream failed && sent == failed.Chunks)
            {
                await WriteEventAsync(context, """{"error":{"message":"The model failed while generating.","type":"server_error","code":"generation_failed"}}""");
                await WriteEventAsync(context, "[DONE]");
                return;
            }

            if (fault is SimulatedFault.KeepAliveForever keepAlive && sent == keepAlive.Chunks)
            {
                while (!context.RequestAborted.IsCancellationRequested)
                {
                    await context.Response.WriteAsync(": keep-alive\n\n", context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                    await context.Response.Body.FlushAsync(context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                    await Task.Delay(keepAlive.Every, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                }

                return;
            }

            if (fault is SimulatedFault.CutStream cut && sent == cut.Chunks)
            {
                await context.Response.Body.FlushAsync(context.RequestAborted);

                // Give the client time to read what was sent: a reset discards data still unread in its socket.
                await Task.Delay(200, context.RequestAborted);
                context.Abort();
                return;
            }

            await WriteEventAsync(context, chunk.ToJsonString());
            sent++;
            if (sent == 2 && behavior.PauseAfterFirstChunk is { } pause)
            {
                await pause.WaitAsync(context.RequestAborted);
            }

            if (behavior.ChunkDelay > TimeSpan.Zero)
            {
                await Task.Delay(behavior.ChunkDelay, context.RequestAborted);
            }
        }

        if (includeUsage)
        {
            var usageChunk = new JsonObject
            {
                ["id"] = id,
                ["object"] = "chat.completion.chunk",
                ["created"] = created,
                ["model"] = model,
                ["choices"] = new JsonArray(),
                ["usage"] = Usage(promptTokens, completionTokens),
            };
            await WriteEventAsync(context, usageChunk.ToJsonString());
        }

        await WriteEventAsync(context, "[DONE]");
        Answer(context, model);
        Interlocked.Increment(ref _completedStreams);
    }

    private static JsonObject Chunk(string id, long created, string model, JsonObject delta, string? finish, int index = 0) => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion.chunk",
        ["created"] = created,
        ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject { ["index"] = index, ["delta"] = delta, ["finish_reason"] = finish }),
    };

    private static JsonObject Usage(int prompt, int completion) => new()
    {
        ["prompt_tokens"] = prompt,
        ["completion_tokens"] = completion,
        ["total_tokens"] = prompt + completion,
    };

    private static async Task WriteEventAsync(HttpContext context, string data)
    {
        await context.Response.WriteAsync("data: " + data + "\n\n", context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var error = new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = message, ["type"] = "simulated", ["param"] = null, ["code"] = status.ToString(CultureInfo.InvariantCulture) },
        };
        return context.Response.WriteAsync(error.ToJsonString(), context.RequestAborted);
    }

    private IResult HandleModels() => Results.Json(new
    {
        @object = "list",
        data = _behaviors.Keys.Select(id => new { id, @object = "model", created = 0, owned_by = "simulator" }),
    });

    // Lets a command-line run be reconfigured without a restart: {"failureRate":0.2,"latencyMs":5,"chunkDelayMs":10}.
    private async Task<IResult> HandleConfigureAsync(string model, HttpContext context)
    {
        var settings = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject;
        var behavior = Model(model);
        behavior.FailureRate = settings?["failureRate"]?.GetValue<double>() ?? behavior.FailureRate;
        behavior.FailureStatus = settings?["failureStatus"]?.GetValue<int>() ?? behavior.FailureStatus;
        behavior.ResetRate = settings?["resetRate"]?.GetValue<double>() ?? behavior.ResetRate;
        behavior.Latency = TimeSpan.FromMilliseconds(settings?["latencyMs"]?.GetValue<double>() ?? behavior.Latency.TotalMilliseconds);
        behavior.ChunkDelay = TimeSpan.FromMilliseconds(settings?["chunkDelayMs"]?.GetValue<double>() ?? behavior.ChunkDelay.TotalMilliseconds);
        return Results.NoContent();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _app.StopAsync(stop.Token);
            await _app.DisposeAsync();
        }
    }
}
