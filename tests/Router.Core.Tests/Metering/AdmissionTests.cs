using System.Globalization;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Router.Core.Metering;
using Router.Core.Pipeline;

namespace Router.Core.Tests.Metering;

/// <summary>The session's share of a reservation is given back on every path that does not hand the reservation over.</summary>
public sealed class AdmissionTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
    private readonly SpendStore _spend = new();
    private readonly RequestLimiter _limiter = new();
    private readonly LoopGuard _loops;
    private readonly BudgetGuard _budgets;
    private readonly Admission _admission;

    public AdmissionTests()
    {
        _loops = new LoopGuard(Options.Create(new LoopGuardOptions()), _time);
        _budgets = new BudgetGuard(_spend, _time);
        _admission = new Admission(_limiter, _loops, _budgets);
    }

    public void Dispose() => _limiter.Dispose();

    private static RequestContext Context(string session) =>
        new() { RequestId = "req_" + Guid.NewGuid().ToString("N"), TenantId = "acme", KeyId = "key-1", SessionId = session };

    private void Track(RequestContext context, TenantPolicy policy) =>
        Assert.Null(_loops.Check(context.SessionKey, policy, (ulong)Random.Shared.NextInt64(), default));

    [Fact]
    public async Task A_request_refused_by_a_budget_gives_its_session_reservation_back()
    {
        var policy = TenantPolicy.Default("acme") with { SessionSpendCapUsd = 1m, DailyBudgetUsd = 5m };
        var context = Context("agent");
        Track(context, policy);
        _spend.Spent = 5m;

        var (reservation, refused) = await _admission.ReserveAsync(context, policy, 0.8m, CancellationToken.None);

        Assert.Null(reservation);
        Assert.Equal("budget_exceeded", refused!.Code);
        Assert.Null(_loops.Reserve(context.SessionKey, policy, 0.9m).Error);
    }

    [Fact]
    public async Task A_client_that_leaves_while_its_request_waits_for_the_budget_gives_its_session_reservation_back()
    {
        var policy = TenantPolicy.Default("acme") with { SessionSpendCapUsd = 1m, DailyBudgetUsd = 1m };
        var other = Context("other-agent");
        Track(other, policy);
        var (holding, _) = await _admission.ReserveAsync(other, policy, 1m, CancellationToken.None);
        Assert.NotNull(holding);

        // The budget is fully reserved by the other session's request, so this one waits for it to settle.
        var context = Context("agent");
        Track(context, policy);
        using var leave = new CancellationTokenSource();
        var waiting = _admission.ReserveAsync(context, policy, 0.8m, leave.Token).AsTask();
        Assert.False(waiting.IsCompleted);
        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        Assert.Null(_loops.Reserve(context.SessionKey, policy, 0.9m).Error);
    }

    [Fact]
    public async Task A_spend_store_that_fails_gives_the_session_reservation_back()
    {
        var policy = TenantPolicy.Default("acme") with { SessionSpendCapUsd = 1m, DailyBudgetUsd = 5m };
        var context = Context("agent");
        Track(context, policy);
        _spend.Failure = new IOException("The spend table did not answer.");

        await Assert.ThrowsAsync<IOException>(() => _admission.ReserveAsync(context, policy, 0.8m, CancellationToken.None).AsTask());

        Assert.Null(_loops.Reserve(context.SessionKey, policy, 0.9m).Error);
    }

    [Fact]
    public async Task Settlement_replaces_the_session_reservation_with_the_actual_cost()
    {
        var policy = TenantPolicy.Default("acme") with { SessionSpendCapUsd = 1m };
        var context = Context("agent");
        Track(context, policy);
        var (reservation, _) = await _admission.ReserveAsync(context, policy, 0.8m, CancellationToken.None);
        Assert.NotNull(_loops.Reserve(context.SessionKey, policy, 0.3m).Error);

        await _admission.SettleAsync(reservation!, 0.25m, CancellationToken.None);

        Assert.Null(_loops.Reserve(context.SessionKey, policy, 0.75m).Error);
        Assert.NotNull(_loops.Reserve(context.SessionKey, policy, 0.01m).Error);
    }

    private sealed class SpendStore : ISpendStore
    {
        public decimal Spent { get; set; }

        public Exception? Failure { get; set; }

        public ValueTask<SpendRow> GetAsync(string scope, CancellationToken cancellationToken) =>
            Failure is { } failure ? ValueTask.FromException<SpendRow>(failure) : ValueTask.FromResult(SpendRow.Empty with { SpentUsd = Spent });

        public ValueTask<SpendRow> UpdateAsync(string scope, string operationId, Func<SpendRow, SpendRow?> change, CancellationToken cancellationToken)
        {
            if (Failure is { } failure)
            {
                return ValueTask.FromException<SpendRow>(failure);
            }

            // One instance: the slices it claims are kept, settled spend stays as the test sets it.
            var next = change(_row with { SpentUsd = Spent });
            if (next is not null)
            {
                _row = next with { Version = _row.Version + 1 };
            }

            return ValueTask.FromResult(_row with { SpentUsd = Spent });
        }

        private SpendRow _row = SpendRow.Empty;
    }
}
