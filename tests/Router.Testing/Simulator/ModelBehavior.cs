using System.Collections.Concurrent;

namespace Router.Testing.Simulator;

/// <summary>A one-shot fault the simulator applies to the next matching request.</summary>
public abstract record SimulatedFault
{
    /// <summary>Answer with status <paramref name="Code"/> and an OpenAI-style error body.</summary>
    public sealed record Status(int Code, string? RetryAfter = null, string? RetryAfterMs = null) : SimulatedFault;

    /// <summary>Abort the connection before answering.</summary>
    public sealed record Reset : SimulatedFault;

    /// <summary>Never answer (until the caller gives up).</summary>
    public sealed record Hang : SimulatedFault;

    /// <summary>Stream <paramref name="Chunks"/> chunks, then drop the connection without <c>[DONE]</c>.</summary>
    public sealed record CutStream(int Chunks) : SimulatedFault;

    /// <summary>Answer with <paramref name="Code"/>, <paramref name="ContentType"/> and <paramref name="Body"/> as given
    /// (an HTML page from a proxy, an empty body, an error object with status 200), and a <c>Location</c> when set.</summary>
    public sealed record Raw(int Code, string ContentType, string Body, string? Location = null) : SimulatedFault;

    /// <summary>Send 200 headers and the start of a body, then stall until the caller gives up, or reset when <paramref name="ThenReset"/>.</summary>
    public sealed record PartialBody(bool ThenReset) : SimulatedFault;

    /// <summary>Stream <paramref name="Chunks"/> chunks, then an error payload (<c>data: {"error":…}</c>, as vLLM ends a
    /// generation that failed) and <c>[DONE]</c>.</summary>
    public sealed record ErrorInStream(int Chunks) : SimulatedFault;

    /// <summary>Stream <paramref name="Chunks"/> chunks, then only SSE comments (<c>: keep-alive</c>), one every
    /// <paramref name="Every"/>, until the caller gives up.</summary>
    public sealed record KeepAliveForever(int Chunks, TimeSpan Every) : SimulatedFault;
}

/// <summary>How the simulator answers one model; tests change it while requests flow.</summary>
public sealed class ModelBehavior
{
    private readonly Lock _lock = new();
    private readonly Random _random;

    internal ModelBehavior(int seed) => _random = new Random(seed);

    /// <summary>Faults to apply to the next requests, in order, before the random ones.</summary>
    public ConcurrentQueue<SimulatedFault> Script { get; } = new();

    /// <summary>Share of requests answered with <see cref="FailureStatus"/> (0–1).</summary>
    public double FailureRate { get; set; }

    /// <summary>Status used for random failures (default 500).</summary>
    public int FailureStatus { get; set; } = 500;

    /// <summary><c>Retry-After</c> sent with random failures, if any.</summary>
    public string? FailureRetryAfter { get; set; }

    /// <summary>Share of requests whose connection is reset (0–1).</summary>
    public double ResetRate { get; set; }

    /// <summary>Delay before the response headers.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>Delay between streamed chunks.</summary>
    public TimeSpan ChunkDelay { get; set; }

    /// <summary>When set, a stream pauses after its first content chunk until this task completes.</summary>
    public Task? PauseAfterFirstChunk { get; set; }

    /// <summary>Custom answer for a prompt (the last user message); default: a deterministic sentence.</summary>
    public Func<SimulatedChat, string>? Responder { get; set; }

    /// <summary>Finish reason of answers (default <c>stop</c>).</summary>
    public string FinishReason { get; set; } = "stop";

    /// <summary>Top-level request fields this model refuses, as a provider refuses a parameter a model lacks: a request
    /// that sends one with a value other than null (or, for a sampling parameter, than OpenAI's default, which reasoning models
    /// accept) gets a 400 <c>unsupported_parameter</c> naming it.</summary>
    public IReadOnlySet<string> RejectedParameters { get; set; } = new HashSet<string>(StringComparer.Ordinal);

    internal ModelBehavior CopyWithSeed(int seed) => new(seed)
    {
        FailureRate = FailureRate,
        FailureStatus = FailureStatus,
        FailureRetryAfter = FailureRetryAfter,
        ResetRate = ResetRate,
        Latency = Latency,
        ChunkDelay = ChunkDelay,
        Responder = Responder,
        FinishReason = FinishReason,
        RejectedParameters = RejectedParameters,
    };

    internal SimulatedFault? NextFault()
    {
        if (Script.TryDequeue(out var scripted))
        {
            return scripted;
        }

        double roll;
        lock (_lock)
        {
            roll = _random.NextDouble();
        }

        if (roll < ResetRate)
        {
            return new SimulatedFault.Reset();
        }

        return roll < ResetRate + FailureRate ? new SimulatedFault.Status(FailureStatus, FailureRetryAfter) : null;
    }
}

/// <summary>What a responder sees of a request.</summary>
/// <param name="Model">The model field.</param>
/// <param name="LastUserMessage">Text of the last user message.</param>
/// <param name="Body">The raw JSON body.</param>
public sealed record SimulatedChat(string Model, string LastUserMessage, string Body);

/// <summary>A request as the simulator received it.</summary>
/// <param name="Model">The model field.</param>
/// <param name="Body">The raw JSON body.</param>
/// <param name="PathAndQuery">The request path and query string.</param>
/// <param name="Headers">Request headers (lower-case names).</param>
/// <param name="Aborted">Completes when the caller went away (cancellation).</param>
public sealed record ReceivedRequest(string Model, string Body, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, Task Aborted);
