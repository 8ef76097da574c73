using System.Runtime.CompilerServices;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Metering;
using Router.Core.Routing;

namespace Router.Infrastructure.Storage;

/// <summary>Tenant policies in Table Storage (partition <c>tenant</c>, row key the tenant id; rules as JSON). Tenants
/// in configuration are the defaults for tenants the table does not hold. Reads are cached for a few seconds.</summary>
internal sealed class TableTenantPolicyStore(RouterTables tables, ModelCatalog catalog, IOptions<TenantsOptions> configured, TimeProvider time) : ITenantPolicyStore
{
    private const string Table = "tenants";
    private const string LearnedPartition = "learned";
    private const int MaxUpdateAttempts = 5;
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(10);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (TenantPolicy Policy, DateTimeOffset At)> _cache = new(StringComparer.Ordinal);

    public async ValueTask<TenantPolicy> GetAsync(string tenantId, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(tenantId, out var cached) && time.GetUtcNow() - cached.At < CacheFor)
        {
            return cached.Policy;
        }

        var table = await tables.GetAsync(Table, cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>("tenant", tenantId, cancellationToken: cancellationToken);
        var policy = row.HasValue
            ? ToPolicy(row.Value!)
            : configured.Value.Tenants.TryGetValue(tenantId, out var settings) ? settings.ToPolicy(tenantId, catalog) : TenantPolicy.Default(tenantId);
        var learned = await table.GetEntityIfExistsAsync<TableEntity>(LearnedPartition, tenantId, cancellationToken: cancellationToken);
        if (learned.HasValue)
        {
            policy = policy with
            {
                LearnedCacheSimilarityThreshold = learned.Value!.GetDouble("CacheSimilarityThreshold") is { } t ? (float)t : null,
                CacheThresholdRaisedAt = learned.Value.GetDateTimeOffset("ChangedAt"),
            };
        }

        _cache[tenantId] = (policy, time.GetUtcNow());
        return policy;
    }

    // An insert: a tenant another instance created is never replaced, whatever this instance's cache says.
    public async ValueTask<bool> CreateAsync(TenantPolicy policy, CancellationToken cancellationToken)
    {
        if (configured.Value.Tenants.ContainsKey(policy.TenantId))
        {
            return false;
        }

        var table = await tables.GetAsync(Table, cancellationToken);
        try
        {
            await table.AddEntityAsync(ToEntity(policy), cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return false;
        }
        finally
        {
            _cache.TryRemove(policy.TenantId, out _);
        }
    }

    // Read, change and write back conditioned on the row's ETag (on its absence for a tenant only in configuration): a
    // write another instance made in between fails the condition and is read again, instead of being replaced by a
    // change computed from the copy it replaced.
    public async ValueTask<TenantUpdate> UpdateAsync(string tenantId, Func<TenantPolicy, TenantPolicy?> change, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        for (var attempt = 0; attempt < MaxUpdateAttempts; attempt++)
        {
            var row = await table.GetEntityIfExistsAsync<TableEntity>("tenant", tenantId, cancellationToken: cancellationToken);
            TenantPolicy current;
            if (row.HasValue)
            {
                current = ToPolicy(row.Value!);
            }
            else if (configured.Value.Tenants.TryGetValue(tenantId, out var settings))
            {
                current = settings.ToPolicy(tenantId, catalog);
            }
            else
            {
                return new TenantUpdate(TenantUpdateStatus.NotRegistered, null);
            }

            if (change(current) is not { } changed)
            {
                return new TenantUpdate(TenantUpdateStatus.Declined, null);
            }

            changed = changed with { TenantId = tenantId, Registered = true };
            if (row.HasValue && current.CacheThresholdRaisedAt is { } raisedAt)
            {
                // A row written before learned thresholds had their own: the replace below writes only the tenant's own
                // settings, so its learned threshold moves to its own row first, unless audits have written one since.
                try
                {
                    await table.AddEntityAsync(LearnedEntity(tenantId, current.LearnedCacheSimilarityThreshold, raisedAt), cancellationToken);
                }
                catch (RequestFailedException ex) when (ex.Status == 409)
                {
                }
            }

            try
            {
                if (row.HasValue)
                {
                    await table.UpdateEntityAsync(ToEntity(changed), row.Value!.ETag, TableUpdateMode.Replace, cancellationToken);
                }
                else
                {
                    await table.AddEntityAsync(ToEntity(changed), cancellationToken);
                }
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                continue;
            }
            finally
            {
                _cache.TryRemove(tenantId, out _);
            }

            return new TenantUpdate(TenantUpdateStatus.Updated, changed);
        }

        return new TenantUpdate(TenantUpdateStatus.Contended, null);
    }

    // Learned settings live in their own entity, so a tenant defined in configuration stays defined there and an
    // admin's replace of the tenant row does not erase them.
    public async ValueTask SetLearnedCacheThresholdAsync(string tenantId, float? threshold, DateTimeOffset changedAt, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken);
        await table.UpsertEntityAsync(LearnedEntity(tenantId, threshold, changedAt), TableUpdateMode.Replace, cancellationToken);
        _cache.TryRemove(tenantId, out _);
    }

    private static TableEntity LearnedEntity(string tenantId, float? threshold, DateTimeOffset changedAt) => new(LearnedPartition, tenantId)
    {
        ["CacheSimilarityThreshold"] = threshold is { } t ? (double)t : null,
        ["ChangedAt"] = changedAt,
    };

    public async IAsyncEnumerable<TenantPolicy> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var table = await tables.GetAsync(Table, cancellationToken);
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {"tenant"}"), cancellationToken: cancellationToken))
        {
            seen.Add(row.RowKey);
            yield return ToPolicy(row);
        }

        foreach (var (tenant, settings) in configured.Value.Tenants)
        {
            if (!seen.Contains(tenant))
            {
                yield return settings.ToPolicy(tenant, catalog);
            }
        }
    }

    private static TableEntity ToEntity(TenantPolicy p) => new("tenant", p.TenantId)
    {
        ["Quality"] = p.Quality,
        ["Rules"] = JsonSerializer.Serialize(p.Rules.Select(r => r.Definition).ToList(), StorageJsonContext.Default.ListRuleDefinition),
        ["PerCallFeeUsd"] = TableValues.Text(p.PerCallFeeUsd),
        ["MarkupPercent"] = TableValues.Text(p.MarkupPercent),
        ["DailyBudgetUsd"] = p.DailyBudgetUsd is { } d ? TableValues.Text(d) : null,
        ["MonthlyBudgetUsd"] = p.MonthlyBudgetUsd is { } m ? TableValues.Text(m) : null,
        ["RequestsPerMinute"] = p.RequestsPerMinute,
        ["TokensPerMinute"] = p.TokensPerMinute,
        ["SessionSpendCapUsd"] = p.SessionSpendCapUsd is { } s ? TableValues.Text(s) : null,
        ["AuditOptOut"] = p.AuditOptOut,
        ["AuditSampleRate"] = p.AuditSampleRate,
        ["CacheSimilarityThreshold"] = p.CacheSimilarityThreshold is { } c ? (double)c : null,
        ["CacheTimeToLiveSeconds"] = p.CacheTimeToLive is { } t ? (long)t.TotalSeconds : null,
    };

    // A tenant row's policy; the learned threshold's own row is GetAsync's to add.
    private TenantPolicy ToPolicy(TableEntity row)
    {
        var definitions = row.GetString("Rules") is { Length: > 0 } json
            ? JsonSerializer.Deserialize(json, StorageJsonContext.Default.ListRuleDefinition) ?? []
            : [];

        // Rules were valid when stored; a rule that no longer compiles (a model left the catalog) is dropped.
        var rules = new List<TenantRule>();
        foreach (var definition in definitions)
        {
            if (RuleSetCompiler.TryCompile([definition], catalog, out var compiled, out _))
            {
                rules.AddRange(compiled);
            }
        }

        var policy = new TenantPolicy
        {
            TenantId = row.RowKey,
            Registered = true,
            Quality = row.GetDouble("Quality"),
            Rules = rules,
            PerCallFeeUsd = TableValues.Decimal(row, "PerCallFeeUsd") ?? 0,
            MarkupPercent = TableValues.Decimal(row, "MarkupPercent") ?? 0,
            DailyBudgetUsd = TableValues.Decimal(row, "DailyBudgetUsd"),
            MonthlyBudgetUsd = TableValues.Decimal(row, "MonthlyBudgetUsd"),
            RequestsPerMinute = row.GetInt32("RequestsPerMinute"),
            TokensPerMinute = row.GetInt32("TokensPerMinute"),
            SessionSpendCapUsd = TableValues.Decimal(row, "SessionSpendCapUsd"),
            AuditOptOut = row.GetBoolean("AuditOptOut") ?? false,
            AuditSampleRate = row.GetDouble("AuditSampleRate"),
            CacheSimilarityThreshold = row.GetDouble("CacheSimilarityThreshold") is { } c ? (float)c : null,
            CacheThresholdRaisedAt = row.GetDateTimeOffset("CacheThresholdRaisedAt"),
            CacheTimeToLive = row.GetInt64("CacheTimeToLiveSeconds") is { } t ? TimeSpan.FromSeconds(t) : null,
        };

        // Written before learned thresholds had their own row: the tenant row's threshold is the learned one (and a
        // learned row written since replaces it).
        return policy.CacheThresholdRaisedAt is null
            ? policy
            : policy with { LearnedCacheSimilarityThreshold = policy.CacheSimilarityThreshold, CacheSimilarityThreshold = null };
    }
}

/// <summary>Source-generated JSON for what the stores persist.</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<RuleDefinition>))]
internal sealed partial class StorageJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
