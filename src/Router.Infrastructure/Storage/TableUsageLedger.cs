using System.Globalization;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using Router.Core.Metering;

namespace Router.Infrastructure.Storage;

/// <summary>The usage ledger in Table Storage: partition <c>{tenant}|{yyyyMMdd}</c>, row key the request id. Rows are
/// inserted, never upserted: an insert that finds the row already there (a retry after a write that committed but timed
/// out) counts as recorded, so each request is counted exactly once.</summary>
internal sealed class TableUsageLedger(RouterTables tables) : IUsageLedger
{
    private const string Table = "usage";

    public async ValueTask<bool> RecordAsync(UsageRecord record, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        try
        {
            await table.AddEntityAsync(ToEntity(record), cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return false;
        }
    }

    public async IAsyncEnumerable<UsageRecord> QueryAsync(string tenantId, DateOnly from, DateOnly to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        for (var day = from; day <= to; day = day.AddDays(1))
        {
            var partition = Partition(tenantId, day);
            await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partition}"), cancellationToken: cancellationToken))
            {
                yield return ToRecord(row);
            }
        }
    }

    public async IAsyncEnumerable<UsageRecord> QueryAllAsync(DateOnly from, DateOnly to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        var start = new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var end = new DateTimeOffset(to.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"RequestTime ge {start} and RequestTime lt {end}"), cancellationToken: cancellationToken))
        {
            yield return ToRecord(row);
        }
    }

    public async ValueTask<bool> SetAuditScoreAsync(string tenantId, DateTimeOffset timestamp, string requestId, double score, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        try
        {
            var patch = new TableEntity(Partition(tenantId, DateOnly.FromDateTime(timestamp.UtcDateTime)), requestId) { ["AuditScore"] = score };
            await table.UpdateEntityAsync(patch, ETag.All, TableUpdateMode.Merge, cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return false;
        }
    }

    internal static string Partition(string tenantId, DateOnly day) => tenantId + "|" + day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    private static TableEntity ToEntity(UsageRecord r) => new(Partition(r.TenantId, DateOnly.FromDateTime(r.Timestamp.UtcDateTime)), r.RequestId)
    {
        ["Tenant"] = r.TenantId,
        ["KeyId"] = r.KeyId,
        ["SessionId"] = r.SessionId,
        ["RequestTime"] = r.Timestamp,
        ["Model"] = r.Model,
        ["Tier"] = r.Tier,
        ["Task"] = r.Task,
        ["Complexity"] = r.Complexity,
        ["Risk"] = r.Risk,
        ["Cache"] = r.Cache,
        ["PromptTokens"] = r.PromptTokens,
        ["CompletionTokens"] = r.CompletionTokens,
        ["CachedPromptTokens"] = r.CachedPromptTokens,
        ["UsageSource"] = r.UsageSource,
        ["CostUsd"] = TableValues.Text(r.CostUsd),
        ["BaselineCostUsd"] = TableValues.Text(r.BaselineCostUsd),
        ["FeeUsd"] = TableValues.Text(r.FeeUsd),
        ["Fallbacks"] = r.Fallbacks,
        ["LatencyMs"] = r.LatencyMs,
        ["Outcome"] = r.Outcome,
        ["ErrorCode"] = r.ErrorCode,
        ["Streamed"] = r.Streamed,
        ["AuditScore"] = r.AuditScore,
    };

    private static UsageRecord ToRecord(TableEntity row) => new()
    {
        RequestId = row.RowKey,
        TenantId = row.GetString("Tenant"),
        KeyId = row.GetString("KeyId"),
        SessionId = row.GetString("SessionId"),
        Timestamp = row.GetDateTimeOffset("RequestTime") ?? default,
        Model = row.GetString("Model"),
        Tier = row.GetString("Tier"),
        Task = row.GetString("Task"),
        Complexity = row.GetInt32("Complexity") ?? 0,
        Risk = row.GetString("Risk"),
        Cache = row.GetString("Cache") ?? "miss",
        PromptTokens = row.GetInt32("PromptTokens") ?? 0,
        CompletionTokens = row.GetInt32("CompletionTokens") ?? 0,
        CachedPromptTokens = row.GetInt32("CachedPromptTokens") ?? 0,
        UsageSource = row.GetString("UsageSource") ?? "provider",
        CostUsd = TableValues.Decimal(row, "CostUsd") ?? 0,
        BaselineCostUsd = TableValues.Decimal(row, "BaselineCostUsd") ?? 0,
        FeeUsd = TableValues.Decimal(row, "FeeUsd") ?? 0,
        Fallbacks = row.GetInt32("Fallbacks") ?? 0,
        LatencyMs = row.GetDouble("LatencyMs") ?? 0,
        Outcome = row.GetString("Outcome") ?? UsageOutcomes.Success,
        ErrorCode = row.GetString("ErrorCode"),
        Streamed = row.GetBoolean("Streamed") ?? false,
        AuditScore = row.GetDouble("AuditScore"),
    };
}
