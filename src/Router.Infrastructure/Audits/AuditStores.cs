using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using Router.Core.Audits;
using Router.Infrastructure.Metering;
using Router.Infrastructure.Storage;

namespace Router.Infrastructure.Audits;

/// <summary>Audit results in memory, as the usage ledger keeps its rows: the oldest are dropped past
/// <see cref="MaxRows"/> so a long-running embedded server stays bounded (configure storage to keep everything).</summary>
internal sealed class InMemoryAuditStore : IAuditStore
{
    /// <summary>Results kept at most: as many as the ledger's rows, since a request is audited once at most.</summary>
    public const int MaxRows = InMemoryUsageLedger.MaxRows;

    private readonly FirstWriteWins<string, AuditResult> _store = new(MaxRows, StringComparer.Ordinal);

    public ValueTask<AuditResult?> FindAsync(string requestId, DateTimeOffset requestTime, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_store.Rows.GetValueOrDefault(requestId));

    public ValueTask<bool> TryAddAsync(AuditResult result, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_store.TryAdd(result.RequestId, result));

    public async IAsyncEnumerable<AuditResult> QueryAsync(DateTimeOffset since, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        foreach (var result in _store.Rows.Values.Where(r => r.RequestTime >= since))
        {
            yield return result;
        }
    }
}

/// <summary>Audit results in Table Storage: partition the request's UTC day, row key the request id (insert-only, so a
/// duplicate message cannot add a second row).</summary>
internal sealed class TableAuditStore(RouterTables tables, TimeProvider time) : IAuditStore
{
    private const string Table = "audits";

    public async ValueTask<AuditResult?> FindAsync(string requestId, DateTimeOffset requestTime, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(Day(requestTime), requestId, cancellationToken: cancellationToken);
        return row.HasValue ? ToResult(row.Value!) : null;
    }

    public async ValueTask<bool> TryAddAsync(AuditResult r, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        try
        {
            await table.AddEntityAsync(new TableEntity(Day(r.RequestTime), r.RequestId)
            {
                ["Tenant"] = r.TenantId,
                ["RequestTime"] = r.RequestTime,
                ["AuditedAt"] = r.AuditedAt,
                ["Task"] = r.Task,
                ["Band"] = r.Band,
                ["Model"] = r.Model,
                ["Tier"] = r.Tier,
                ["Reason"] = r.Reason,
                ["Verdict"] = r.Verdict.ToString(),
                ["Score"] = r.Score,
                ["PositionDisagreement"] = r.PositionDisagreement,
                ["CostUsd"] = TableValues.Text(r.CostUsd),
            }, cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return false;
        }
    }

    public async IAsyncEnumerable<AuditResult> QueryAsync(DateTimeOffset since, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        var first = Day(since);
        var last = Day(time.GetUtcNow());
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey ge {first} and PartitionKey le {last}"), cancellationToken: cancellationToken))
        {
            var result = ToResult(row);
            if (result.RequestTime >= since)
            {
                yield return result;
            }
        }
    }

    private static AuditResult ToResult(TableEntity row) => new()
    {
        RequestId = row.RowKey,
        TenantId = row.GetString("Tenant"),
        RequestTime = row.GetDateTimeOffset("RequestTime") ?? default,
        AuditedAt = row.GetDateTimeOffset("AuditedAt") ?? default,
        Task = row.GetString("Task"),
        Band = row.GetString("Band"),
        Model = row.GetString("Model"),
        Tier = row.GetString("Tier"),
        Reason = row.GetString("Reason"),
        // A verdict this build does not know (written by a newer one) is read as no verdict.
        Verdict = Enum.TryParse<AuditVerdict>(row.GetString("Verdict"), out var verdict) ? verdict : AuditVerdict.Unjudged,
        Score = row.GetDouble("Score") ?? 0,
        PositionDisagreement = row.GetBoolean("PositionDisagreement") ?? false,
        CostUsd = TableValues.Decimal(row, "CostUsd") ?? 0,
    };

    private static string Day(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
}
