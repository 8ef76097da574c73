using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using System.Diagnostics.Metrics;
using Router.Core.Execution;
using Router.Core.Telemetry;

namespace Router.Core.Tests.Execution;

public sealed class DeploymentHealthTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly DeploymentHealthRegistry _health;

    public DeploymentHealthTests() =>
        _health = Registry(new ExecutionOptions { BreakerConsecutiveFailures = 0 });

    private DeploymentHealthRegistry Registry(ExecutionOptions options) =>
        new(Options.Create(options), _time, new RouterTelemetry(new TestMeterFactory()), NullLogger<DeploymentHealthRegistry>.Instance);

    private void Fail(string deployment, int times)
    {
        for (var i = 0; i < times; i++)
        {
            _health.Report(deployment, _health.TryAcquire(deployment), success: false);
        }
    }

    [Fact]
    public void The_circuit_opens_at_the_failure_ratio_after_the_minimum_throughput()
    {
        Fail("m", 9);
        Assert.True(_health.TryAcquire("m").Allowed);

        Fail("m", 1);

        var lease = _health.TryAcquire("m");
        Assert.False(lease.Allowed);
        Assert.Equal(CircuitState.Open, _health.StateOf("m"));
        Assert.Equal(TimeSpan.FromSeconds(30), lease.AvailableIn);
    }

    [Fact]
    public void After_the_break_one_probe_is_allowed_and_its_success_closes_the_circuit()
    {
        Fail("m", 10);
        _time.Advance(TimeSpan.FromSeconds(31));

        var probe = _health.TryAcquire("m");
        var second = _health.TryAcquire("m");
        Assert.True(probe is { Allowed: true, IsProbe: true });
        Assert.False(second.Allowed);

        _health.Report("m", probe, success: true);
        Assert.Equal(CircuitState.Closed, _health.StateOf("m"));
        Assert.True(_health.TryAcquire("m").Allowed);
    }

    [Fact]
    public void A_failed_probe_opens_the_circuit_again()
    {
        Fail("m", 10);
        _time.Advance(TimeSpan.FromSeconds(31));
        var probe = _health.TryAcquire("m");

        _health.Report("m", probe, success: false);

        Assert.Equal(CircuitState.Open, _health.StateOf("m"));
        Assert.False(_health.TryAcquire("m").Allowed);
    }

    [Fact]
    public void A_retry_hint_cools_the_deployment_down_until_it_expires()
    {
        _health.Report("m", _health.TryAcquire("m"), success: false, coolDown: TimeSpan.FromSeconds(60));

        _time.Advance(TimeSpan.FromSeconds(59));
        var during = _health.TryAcquire("m");
        _time.Advance(TimeSpan.FromSeconds(2));

        Assert.False(during.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(1), during.AvailableIn);
        Assert.True(_health.TryAcquire("m").Allowed);
        Assert.True(_health.TryAcquire("other").Allowed);
    }

    [Fact]
    public void Old_failures_leave_the_window()
    {
        Fail("m", 9);
        _time.Advance(TimeSpan.FromSeconds(31));
        Fail("m", 1);

        Assert.Equal(CircuitState.Closed, _health.StateOf("m"));
    }

    [Fact]
    public void Failures_in_a_row_open_the_circuit_at_low_traffic_and_a_success_resets_the_count()
    {
        var health = Registry(new ExecutionOptions());

        // Four failures, a success, four more: never five in a row, and far below the ratio rule's ten calls.
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < 4; i++)
            {
                health.Report("slow", health.TryAcquire("slow"), success: false);
                _time.Advance(TimeSpan.FromSeconds(60));
            }

            Assert.Equal(CircuitState.Closed, health.StateOf("slow"));
            if (round == 0)
            {
                health.Report("slow", health.TryAcquire("slow"), success: true);
            }
        }

        health.Report("slow", health.TryAcquire("slow"), success: false);

        Assert.Equal(CircuitState.Open, health.StateOf("slow"));
        Assert.False(health.TryAcquire("slow").Allowed);
    }
}

/// <summary>A meter factory for tests that need instruments but no exporter.</summary>
internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options);
        _meters.Add(meter);
        return meter;
    }

    public void Dispose() => _meters.ForEach(m => m.Dispose());
}
