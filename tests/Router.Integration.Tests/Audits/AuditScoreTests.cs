using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Router.Core.Metering;
using Router.Infrastructure.Metering;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Audits;

/// <summary>An audit's score reaches the request's usage row even when writing it fails once.</summary>
public sealed class AuditScoreTests
{
    private sealed class FlakyLedger : IUsageLedger
    {
        private readonly InMemoryUsageLedger _inner = new();
        private int _failures = 1;

        public ConcurrentDictionary<string, double> Scores { get; } = new(StringComparer.Ordinal);

        public ValueTask<bool> RecordAsync(UsageRecord record, CancellationToken cancellationToken) => _inner.RecordAsync(record, cancellationToken);

        public IAsyncEnumerable<UsageRecord> QueryAsync(string tenantId, DateOnly from, DateOnly to, CancellationToken cancellationToken) =>
            _inner.QueryAsync(tenantId, from, to, cancellationToken);

        public IAsyncEnumerable<UsageRecord> QueryAllAsync(DateOnly from, DateOnly to, CancellationToken cancellationToken) =>
            _inner.QueryAllAsync(from, to, cancellationToken);

        public async ValueTask<bool> SetAuditScoreAsync(string tenantId, DateTimeOffset timestamp, string requestId, double score, CancellationToken cancellationToken)
        {
            if (Interlocked.Decrement(ref _failures) >= 0)
            {
                throw new IOException("The table service did not answer.");
            }

            var set = await _inner.SetAuditScoreAsync(tenantId, timestamp, requestId, score, cancellationToken);
            if (set)
            {
                Scores[requestId] = score;
            }

            return set;
        }
    }

    [Fact]
    public async Task A_failed_score_write_is_retried_with_the_audit_instead_of_being_skipped_as_a_duplicate()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        simulator.Model("sim-large").Responder = SimulatedJudge.Respond;
        var ledger = new FlakyLedger();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:Audits:SampleRate"] = "1";
        settings["Router:Audits:RetryBaseDelay"] = "00:00:00.050";
        await using var router = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<IUsageLedger>(ledger));

        using var response = await router.Http.PostAsync("v1/chat/completions",
            TestJson.Body("""{"model":"router/economy","messages":[{"role":"user","content":"Suggest a name for a bakery that sells sourdough."}]}"""));
        response.EnsureSuccessStatusCode();
        var requestId = response.Headers.GetValues("x-router-request-id").Single();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (!ledger.Scores.ContainsKey(requestId))
        {
            await Task.Delay(50, timeout.Token);
        }

        var row = await ledger.QueryAsync("local", DateOnly.FromDateTime(DateTime.UtcNow.AddDays(-1)), DateOnly.FromDateTime(DateTime.UtcNow.AddDays(1)), CancellationToken.None)
            .SingleAsync(r => r.RequestId == requestId);
        Assert.Equal(ledger.Scores[requestId], row.AuditScore);
    }
}
