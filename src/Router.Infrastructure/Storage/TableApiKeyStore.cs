using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using Router.Core.Metering;

namespace Router.Infrastructure.Storage;

/// <summary>API keys in Table Storage: one row by hash (partition <c>hash</c>) for authentication, one by id
/// (partition <c>id</c>) for listing and revocation. Only the SHA-256 hash of a key is stored.</summary>
internal sealed class TableApiKeyStore(RouterTables tables) : IApiKeyStore
{
    private const string Table = "keys";

    public async ValueTask<ApiKeyRecord?> FindByHashAsync(string hash, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>("hash", hash, cancellationToken: cancellationToken);
        return row.HasValue ? ToRecord(row.Value!) : null;
    }

    public async ValueTask<ApiKeyRecord?> FindByIdAsync(string id, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>("id", id, cancellationToken: cancellationToken);
        return row.HasValue ? ToRecord(row.Value!) : null;
    }

    public async ValueTask<bool> HasKeysAsync(CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        await foreach (var _ in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {"id"}"), maxPerPage: 1, select: ["RowKey"], cancellationToken: cancellationToken))
        {
            return true;
        }

        return false;
    }

    public async ValueTask CreateAsync(ApiKeyRecord key, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        await table.AddEntityAsync(ToEntity("hash", key.Hash, key), cancellationToken);
        await table.AddEntityAsync(ToEntity("id", key.Id, key), cancellationToken);
    }

    public async ValueTask<bool> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var key = await FindByIdAsync(id, cancellationToken);
        if (key is null)
        {
            return false;
        }

        var revoked = key with { RevokedAt = key.RevokedAt ?? at };
        var table = await tables.GetAsync(Table, cancellationToken);

        // The hash row is what authentication reads, so it changes first.
        await table.UpsertEntityAsync(ToEntity("hash", revoked.Hash, revoked), TableUpdateMode.Replace, cancellationToken);
        await table.UpsertEntityAsync(ToEntity("id", revoked.Id, revoked), TableUpdateMode.Replace, cancellationToken);
        return true;
    }

    public async IAsyncEnumerable<ApiKeyRecord> ListAsync(string? tenantId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        var filter = tenantId is null
            ? TableClient.CreateQueryFilter($"PartitionKey eq {"id"}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {"id"} and Tenant eq {tenantId}");
        await foreach (var row in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            yield return ToRecord(row);
        }
    }

    private static TableEntity ToEntity(string partition, string row, ApiKeyRecord key) => new(partition, row)
    {
        ["KeyId"] = key.Id,
        ["Tenant"] = key.TenantId,
        ["Name"] = key.Name,
        ["Hash"] = key.Hash,
        ["Prefix"] = key.Prefix,
        ["CreatedAt"] = key.CreatedAt,
        ["ExpiresAt"] = key.ExpiresAt,
        ["RevokedAt"] = key.RevokedAt,
        ["RequestsPerMinute"] = key.Limits.RequestsPerMinute,
        ["TokensPerMinute"] = key.Limits.TokensPerMinute,
        ["DailyBudgetUsd"] = key.Limits.DailyBudgetUsd?.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["MonthlyBudgetUsd"] = key.Limits.MonthlyBudgetUsd?.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["LimitsKeyId"] = key.LimitsKeyId,
    };

    private static ApiKeyRecord ToRecord(TableEntity row) => new()
    {
        Id = row.GetString("KeyId"),
        TenantId = row.GetString("Tenant"),
        Name = row.GetString("Name") ?? "",
        Hash = row.GetString("Hash"),
        Prefix = row.GetString("Prefix") ?? "",
        CreatedAt = row.GetDateTimeOffset("CreatedAt") ?? default,
        ExpiresAt = row.GetDateTimeOffset("ExpiresAt"),
        RevokedAt = row.GetDateTimeOffset("RevokedAt"),
        Limits = new KeyLimits(
            row.GetInt32("RequestsPerMinute"),
            row.GetInt32("TokensPerMinute"),
            TableValues.Decimal(row, "DailyBudgetUsd"),
            TableValues.Decimal(row, "MonthlyBudgetUsd")),
        LimitsKeyId = row.GetString("LimitsKeyId"),
    };
}

/// <summary>Decimals are stored as invariant strings: Table Storage has no decimal type and doubles lose cents.</summary>
internal static class TableValues
{
    public static decimal? Decimal(TableEntity row, string name) =>
        row.GetString(name) is { } text && decimal.TryParse(text, System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : null;

    public static string Text(decimal value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
