using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Telemetry;

namespace Router.Core.Execution;

/// <summary>A deployment's circuit state.</summary>
public enum CircuitState
{
    /// <summary>Calls flow.</summary>
    Closed,

    /// <summary>Calls are skipped until the break ends.</summary>
    Open,

    /// <summary>One probe call is allowed to test recovery.</summary>
    HalfOpen,
}

/// <summary>Whether a deployment may be called now.</summary>
/// <param name="Allowed">The call may go ahead.</param>
/// <param name="IsProbe">The call is the half-open probe.</param>
/// <param name="Reason">Why not, when not allowed.</param>
/// <param name="AvailableIn">When it may be called again, when not allowed.</param>
public readonly record struct HealthLease(bool Allowed, bool IsProbe, string? Reason, TimeSpan AvailableIn);

/// <summary>Passive health per deployment (catalog model): a circuit breaker over a sliding window and a cool-down
/// that honours the provider's retry hints. Deployments in cool-down or with an open circuit are skipped without a call.
/// The breaker is a small state machine rather than Polly's because it must be consulted before a call to skip a
/// deployment, and must open on a provider's <c>Retry-After</c>, not only on a failure ratio.</summary>
public sealed partial class DeploymentHealthRegistry(IOptions<ExecutionOptions> options, TimeProvider time, RouterTelemetry telemetry, ILogger<DeploymentHealthRegistry> logger)
{
    private readonly ConcurrentDictionary<string, Deployment> _deployments = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Asks to call <paramref name="deployment"/> now.</summary>
    public HealthLease TryAcquire(string deployment) => Get(deployment).TryAcquire(time.GetUtcNow());

    /// <summary>Records an attempt's outcome.</summary>
    /// <param name="deployment">The deployment called.</param>
    /// <param name="lease">The lease the call ran under.</param>
    /// <param name="success">Whether the deployment answered (client errors count as answers).</param>
    /// <param name="coolDown">A cool-down to start now (from a retry hint or a throttling answer), if any.</param>
    public void Report(string deployment, HealthLease lease, bool success, TimeSpan? coolDown = null)
    {
        var settings = options.Value;
        var limited = coolDown is { } c ? (TimeSpan?)(c > settings.MaxCoolDown ? settings.MaxCoolDown : c) : null;
        var change = Get(deployment).Report(time.GetUtcNow(), lease.IsProbe, success, limited);
        if (change is { } state)
        {
            Log.CircuitChanged(logger, deployment, state);
            telemetry.CircuitChanged(deployment, state.ToString());
        }
    }

    /// <summary>Gives back a probe lease whose call never produced an outcome (the client went away).</summary>
    public void Release(string deployment, HealthLease lease)
    {
        if (lease.IsProbe)
        {
            Get(deployment).ReleaseProbe();
        }
    }

    /// <summary>The current circuit state of a deployment.</summary>
    public CircuitState StateOf(string deployment) => Get(deployment).State;

    private Deployment Get(string deployment) =>
        _deployments.GetOrAdd(deployment, static (_, settings) => new Deployment(settings), options.Value);

    private sealed class Deployment(ExecutionOptions settings)
    {
        private const int Buckets = 10;
        private readonly Lock _lock = new();
        private readonly long[] _bucketStart = new long[Buckets];
        private readonly int[] _successes = new int[Buckets];
        private readonly int[] _failures = new int[Buckets];
        private DateTimeOffset _openUntil;
        private DateTimeOffset _coolDownUntil;
        private bool _probeInFlight;
        private int _consecutiveFailures;

        public CircuitState State { get; private set; } = CircuitState.Closed;

        public HealthLease TryAcquire(DateTimeOffset now)
        {
            lock (_lock)
            {
                if (now < _coolDownUntil)
                {
                    return new HealthLease(false, false, "cooling down after a retry hint", _coolDownUntil - now);
                }

                switch (State)
                {
                    case CircuitState.Open when now < _openUntil:
                        return new HealthLease(false, false, "circuit open", _openUntil - now);
                    case CircuitState.Open:
                        State = CircuitState.HalfOpen;
                        _probeInFlight = true;
                        return new HealthLease(true, true, null, TimeSpan.Zero);
                    case CircuitState.HalfOpen when _probeInFlight:
                        return new HealthLease(false, false, "circuit half-open, probe in flight", settings.BreakerBreakDuration / 10);
                    case CircuitState.HalfOpen:
                        _probeInFlight = true;
                        return new HealthLease(true, true, null, TimeSpan.Zero);
                    default:
                        return new HealthLease(true, false, null, TimeSpan.Zero);
                }
            }
        }

        public CircuitState? Report(DateTimeOffset now, bool isProbe, bool success, TimeSpan? coolDown)
        {
            lock (_lock)
            {
                if (coolDown is { } wait && now + wait > _coolDownUntil)
                {
                    _coolDownUntil = now + wait;
                }

                if (isProbe)
                {
                    _probeInFlight = false;
                    if (success)
                    {
                        Array.Clear(_successes);
                        Array.Clear(_failures);
                        _consecutiveFailures = 0;
                        State = CircuitState.Closed;
                        return CircuitState.Closed;
                    }

                    _openUntil = now + settings.BreakerBreakDuration;
                    State = CircuitState.Open;
                    return CircuitState.Open;
                }

                if (State != CircuitState.Closed)
                {
                    // Outcomes of calls that started before the circuit opened do not move it.
                    return null;
                }

                var bucketLength = settings.BreakerSamplingWindow.Ticks / Buckets;
                var bucketIndex = now.UtcTicks / bucketLength;
                var slot = (int)(bucketIndex % Buckets);
                if (_bucketStart[slot] != bucketIndex)
                {
                    _bucketStart[slot] = bucketIndex;
                    _successes[slot] = 0;
                    _failures[slot] = 0;
                }

                if (success)
                {
                    _successes[slot]++;
                    _consecutiveFailures = 0;
                    return null;
                }

                _failures[slot]++;
                _consecutiveFailures++;
                if (settings.BreakerConsecutiveFailures > 0 && _consecutiveFailures >= settings.BreakerConsecutiveFailures)
                {
                    _consecutiveFailures = 0;
                    _openUntil = now + settings.BreakerBreakDuration;
                    State = CircuitState.Open;
                    return CircuitState.Open;
                }

                int total = 0, failed = 0;
                for (var i = 0; i < Buckets; i++)
                {
                    if (bucketIndex - _bucketStart[i] < Buckets)
                    {
                        total += _successes[i] + _failures[i];
                        failed += _failures[i];
                    }
                }

                if (total >= settings.BreakerMinimumThroughput && failed >= settings.BreakerFailureRatio * total)
                {
                    _openUntil = now + settings.BreakerBreakDuration;
                    State = CircuitState.Open;
                    return CircuitState.Open;
                }

                return null;
            }
        }

        public void ReleaseProbe()
        {
            lock (_lock)
            {
                _probeInFlight = false;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Circuit of deployment {Deployment} is now {State}")]
        public static partial void CircuitChanged(ILogger logger, string deployment, CircuitState state);
    }
}
