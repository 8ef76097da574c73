using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Router.Core.Metering;
using Router.Infrastructure.Metering;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Metering;

/// <summary>The usage row, what a tenant is billed from, is written before the budget counters, and a counter that
/// cannot be written neither loses the row nor stalls the requests waiting on the budget.</summary>
public sealed class SettlementOrderTests
{
    private sealed class RecordingLedger : IUsageLedger
    {
        private readonly InMemoryUsageLedger _inner = new();

        public ConcurrentDictionary<string, bool> Rows { get; } = new(StringComparer.Ordinal);

        public async ValueTask<bool> RecordAsync(UsageRecord record, CancellationToken cancellationToken)
        {
            Rows[record.RequestId] = true;
            return await _inner.RecordAsync(record, cancellationToken);
        }

        public IAsyncEnumerable<UsageRecord> QueryAsync(string tenantId, DateOnly from, DateOnly to, CancellationToken cancellationToken) => _inner.QueryAsync(tenantId, from, to, cancellationToken);

        public IAsyncEnumerable<UsageRecord> QueryAllAsync(DateOnly from, DateOnly to, CancellationToken cancellationToken) => _inner.QueryAllAsync(from, to, cancellationToken);

        public ValueTask<bool> SetAuditScoreAsync(string tenantId, DateTimeOffset timestamp, string requestId, double score, CancellationToken cancellationToken) =>
            _inner.SetAuditScoreAsync(tenantId, timestamp, requestId, score, cancellationToken);
    }

    private sealed class FailingSpendStore(RecordingLedger ledger) : ISpendStore
    {
        public int RowsBeforeFirstAdd { get; private set; } = -1;

        private SpendRow _row = SpendRow.Empty;

        public ValueTask<SpendRow> GetAsync(string scope, CancellationToken cancellationToken) => ValueTask.FromResult(_row);

        // Slices are claimed and given back as usual; settling spend (a named change) fails.
        public ValueTask<SpendRow> UpdateAsync(string scope, string operationId, Func<SpendRow, SpendRow?> change, CancellationToken cancellationToken)
        {
            if (operationId.Length == 0)
            {
                if (change(_row) is { } next)
                {
                    _row = next with { Version = _row.Version + 1 };
                }

                return ValueTask.FromResult(_row);
            }

            if (RowsBeforeFirstAdd < 0)
            {
                RowsBeforeFirstAdd = ledger.Rows.Count;
            }

            throw new IOException("The spend table did not answer.");
        }
    }

    [Fact]
    public async Task The_usage_row_is_written_before_the_budget_counters_and_a_failed_counter_stalls_nobody()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var ledger = new RecordingLedger();
        var spend = new FailingSpendStore(ledger);
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:Tenants:local:DailyBudgetUsd"] = "0.0001";
        await using var router = await RouterServerHost.StartAsync(settings, b =>
        {
            b.Services.AddSingleton<IUsageLedger>(ledger);
            b.Services.AddSingleton<ISpendStore>(spend);
        });

        // Two calls in a row: the first settles (its counter write fails), the second is admitted or refused at once.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 2; i++)
        {
            using var response = await router.Http.PostAsync("v1/chat/completions",
                TestJson.Body($$"""{"model":"router/economy","max_tokens":20,"messages":[{"role":"user","content":"Say hello number {{i}}."}]}"""));
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, statuses[0]);
        Assert.Equal(1, spend.RowsBeforeFirstAdd);
        // Rows are written just after each answer goes out: the second one may land a moment after its response.
        for (var attempt = 0; attempt < 100 && ledger.Rows.Count < 2; attempt++)
        {
            await Task.Delay(50);
        }

        Assert.Equal(2, ledger.Rows.Count);
    }
}
