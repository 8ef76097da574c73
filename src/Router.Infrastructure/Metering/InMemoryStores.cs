using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Metering;

namespace Router.Infrastructure.Metering;

/// <summary>API keys kept in memory (the embedded default); lost on restart.</summary>
internal sealed class InMemoryApiKeyStore : IApiKeyStore
{
    private readonly ConcurrentDictionary<string, ApiKeyRecord> _byHash = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _hashById = new(StringComparer.Ordinal);

    public ValueTask<ApiKeyRecord?> FindByHashAsync(string hash, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_byHash.GetValueOrDefault(hash));

    public ValueTask<ApiKeyRecord?> FindByIdAsync(string id, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_hashById.TryGetValue(id, out var hash) ? _byHash.GetValueOrDefault(hash) : null);

    public ValueTask<bool> HasKeysAsync(CancellationToken cancellationToken) => ValueTask.FromResult(!_byHash.IsEmpty);

    public ValueTask CreateAsync(ApiKeyRecord key, CancellationToken cancellationToken)
    {
        _byHash[key.Hash] = key;
        _hashById[key.Id] = key.Hash;
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (!_hashById.TryGetValue(id, out var hash))
        {
            return ValueTask.FromResult(false);
        }

        _byHash.AddOrUpdate(hash, _ => throw new InvalidOperationException("key vanished"), (_, k) => k with { RevokedAt = k.RevokedAt ?? at });
        return ValueTask.FromResult(true);
    }

    public async IAsyncEnumerable<ApiKeyRecord> ListAsync(string? tenantId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        foreach (var key in _byHash.Values.Where(k => tenantId is null || k.TenantId == tenantId).OrderBy(k => k.CreatedAt))
        {
            yield return key;
        }
    }
}

/// <summary>Keys listed in configuration (<c>Router:ApiKeys</c>), hashed at start, in front of the real store.</summary>
internal sealed class ConfiguredApiKeyStore : IApiKeyStore
{
    private readonly IApiKeyStore _inner;
    private readonly Dictionary<string, ApiKeyRecord> _configured = new(StringComparer.Ordinal);

    public ConfiguredApiKeyStore(IApiKeyStore inner, IOptions<ConfiguredApiKeysOptions> options)
    {
        _inner = inner;
        var index = 0;
        foreach (var key in options.Value.ApiKeys)
        {
            if (!string.IsNullOrWhiteSpace(key.Key) && !string.IsNullOrWhiteSpace(key.Tenant))
            {
                var hash = ApiKeyFormat.Hash(key.Key);
                _configured[hash] = new ApiKeyRecord { Id = $"cfg{index++}", TenantId = key.Tenant, Name = key.Name ?? "configured", Hash = hash };
            }
        }
    }

    public IEnumerable<string> ConfiguredTenants => _configured.Values.Select(k => k.TenantId).Distinct();

    public async ValueTask<ApiKeyRecord?> FindByHashAsync(string hash, CancellationToken cancellationToken) =>
        _configured.TryGetValue(hash, out var key) ? key : await _inner.FindByHashAsync(hash, cancellationToken);

    public async ValueTask<ApiKeyRecord?> FindByIdAsync(string id, CancellationToken cancellationToken) =>
        _configured.Values.FirstOrDefault(k => k.Id == id) ?? await _inner.FindByIdAsync(id, cancellationToken);

    public async ValueTask<bool> HasKeysAsync(CancellationToken cancellationToken) =>
        _configured.Count > 0 || await _inner.HasKeysAsync(cancellationToken);

    public ValueTask CreateAsync(ApiKeyRecord key, CancellationToken cancellationToken) => _inner.CreateAsync(key, cancellationToken);

    public ValueTask<bool> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken) => _inner.RevokeAsync(id, at, cancellationToken);

    public async IAsyncEnumerable<ApiKeyRecord> ListAsync(string? tenantId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var key in _configured.Values.Where(k => tenantId is null || k.TenantId == tenantId))
        {
            yield return key;
        }

        await foreach (var key in _inner.ListAsync(tenantId, cancellationToken))
        {
            yield return key;
        }
    }
}

/// <summary>Keys given in configuration (section <c>Router</c>, property <c>ApiKeys</c>).</summary>
public sealed class ConfiguredApiKeysOptions
{
    /// <summary>The configured keys.</summary>
    public List<ConfiguredApiKey> ApiKeys { get; set; } = [];
}

/// <summary>One configured key.</summary>
public sealed class ConfiguredApiKey
{
    /// <summary>The tenant it authenticates.</summary>
    public string? Tenant { get; set; }

    /// <summary>The key itself (hashed at start, never stored).</summary>
    public string? Key { get; set; }

    /// <summary>A label.</summary>
    public string? Name { get; set; }
}

/// <summary>Tenant policies seeded from configuration (<c>Router:Tenants</c>) and changed through the admin API; in memory.</summary>
internal sealed class InMemoryTenantPolicyStore : ITenantPolicyStore
{
    private readonly ConcurrentDictionary<string, TenantPolicy> _policies = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (float? Threshold, DateTimeOffset ChangedAt)> _learned = new(StringComparer.Ordinal);

    // What GetAsync returns, the stored policy with its learned threshold, made when either changes (rarely) rather than on
    // every request; tenants with neither share one default each. Writers hold the lock, so two changes cannot interleave.
    private readonly ConcurrentDictionary<string, TenantPolicy> _effective = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TenantPolicy> _defaults = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public InMemoryTenantPolicyStore(IOptions<TenantsOptions> tenants, ModelCatalog catalog)
    {
        foreach (var (tenant, settings) in tenants.Value.Tenants)
        {
            _policies[tenant] = settings.ToPolicy(tenant, catalog);
            _effective[tenant] = _policies[tenant];
        }
    }

    public ValueTask<TenantPolicy> GetAsync(string tenantId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_effective.TryGetValue(tenantId, out var policy) ? policy : _defaults.GetOrAdd(tenantId, TenantPolicy.Default));

    public ValueTask SetLearnedCacheThresholdAsync(string tenantId, float? threshold, DateTimeOffset changedAt, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _learned[tenantId] = (threshold, changedAt);
            Refresh(tenantId);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> CreateAsync(TenantPolicy policy, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_policies.TryAdd(policy.TenantId, policy with { Registered = true }))
            {
                return ValueTask.FromResult(false);
            }

            Refresh(policy.TenantId);
        }

        return ValueTask.FromResult(true);
    }

    // Under the writers' lock the change reads what is stored now, and no other write can come between its read and its write.
    public ValueTask<TenantUpdate> UpdateAsync(string tenantId, Func<TenantPolicy, TenantPolicy?> change, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_policies.TryGetValue(tenantId, out var current))
            {
                return ValueTask.FromResult(new TenantUpdate(TenantUpdateStatus.NotRegistered, null));
            }

            if (change(current) is not { } changed)
            {
                return ValueTask.FromResult(new TenantUpdate(TenantUpdateStatus.Declined, null));
            }

            changed = changed with { TenantId = tenantId, Registered = true };
            _policies[tenantId] = changed;
            Refresh(tenantId);
            return ValueTask.FromResult(new TenantUpdate(TenantUpdateStatus.Updated, changed));
        }
    }

    private void Refresh(string tenantId)
    {
        var policy = _policies.GetValueOrDefault(tenantId) ?? TenantPolicy.Default(tenantId);
        _effective[tenantId] = _learned.TryGetValue(tenantId, out var learned)
            ? policy with { LearnedCacheSimilarityThreshold = learned.Threshold, CacheThresholdRaisedAt = learned.ChangedAt }
            : policy;
    }

    public async IAsyncEnumerable<TenantPolicy> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        foreach (var policy in _policies.Values.OrderBy(p => p.TenantId, StringComparer.Ordinal))
        {
            yield return policy;
        }
    }
}

/// <summary>The usage ledger in memory: one row per request id, the first write wins; the oldest rows are dropped past
/// <see cref="MaxRows"/> so a long-running embedded server stays bounded (configure storage to keep everything).</summary>
internal sealed class InMemoryUsageLedger : IUsageLedger
{
    public const int MaxRows = 500_000;
    private readonly FirstWriteWins<(string Tenant, string RequestId), UsageRecord> _ledger = new(MaxRows);

    public ValueTask<bool> RecordAsync(UsageRecord record, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_ledger.TryAdd((record.TenantId, record.RequestId), record));

    public async IAsyncEnumerable<UsageRecord> QueryAsync(string tenantId, DateOnly from, DateOnly to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        foreach (var row in _ledger.Rows.Values)
        {
            var day = DateOnly.FromDateTime(row.Timestamp.UtcDateTime);
            if (row.TenantId == tenantId && day >= from && day <= to)
            {
                yield return row;
            }
        }
    }

    public async IAsyncEnumerable<UsageRecord> QueryAllAsync(DateOnly from, DateOnly to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        foreach (var row in _ledger.Rows.Values)
        {
            var day = DateOnly.FromDateTime(row.Timestamp.UtcDateTime);
            if (day >= from && day <= to)
            {
                yield return row;
            }
        }
    }

    public ValueTask<bool> SetAuditScoreAsync(string tenantId, DateTimeOffset timestamp, string requestId, double score, CancellationToken cancellationToken)
    {
        var key = (tenantId, requestId);
        while (_ledger.Rows.TryGetValue(key, out var row))
        {
            if (_ledger.Rows.TryUpdate(key, row with { AuditScore = score }, row))
            {
                return ValueTask.FromResult(true);
            }
        }

        return ValueTask.FromResult(false);
    }
}

/// <summary>Settled spend and budget slices in memory (one instance: exact). Budgets read only the current day's and
/// month's rows, so when a later day or month is first written, the rows of days and months that ended a day or more
/// before its start are dropped, unless they hold a slice that may still be live (then the next such sweep takes them).
/// The day's grace is for requests that looked their budget up just before midnight and claim against it after: a row
/// dropped under them would read as nothing spent.</summary>
internal sealed class InMemorySpendStore : ISpendStore
{
    private readonly Dictionary<string, (SpendRow Row, Queue<string> Applied)> _rows = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private DateOnly _latestStart = DateOnly.MinValue;

    public ValueTask<SpendRow> GetAsync(string scope, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_rows.TryGetValue(scope, out var entry) ? entry.Row : SpendRow.Empty);
        }
    }

    public ValueTask<SpendRow> UpdateAsync(string scope, string operationId, Func<SpendRow, SpendRow?> change, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var added = !_rows.TryGetValue(scope, out var entry);
            if (added)
            {
                entry = (SpendRow.Empty, new Queue<string>());
            }

            if ((operationId.Length > 0 && entry.Applied.Contains(operationId)) || change(entry.Row) is not { } next)
            {
                return ValueTask.FromResult(entry.Row);
            }

            if (operationId.Length > 0)
            {
                entry.Applied.Enqueue(operationId);
                if (entry.Applied.Count > 32)
                {
                    entry.Applied.Dequeue();
                }
            }

            next = next with { Version = entry.Row.Version + 1 };
            _rows[scope] = (next, entry.Applied);
            if (added && PeriodOf(scope) is { Start: var start } && start > _latestStart)
            {
                _latestStart = start;
                DropPast(start);
            }

            return ValueTask.FromResult(next);
        }
    }

    /// <summary>Rows kept (exposed for tests).</summary>
    internal int RowCount
    {
        get
        {
            lock (_gate)
            {
                return _rows.Count;
            }
        }
    }

    // Drops the rows of periods that ended a day or more before the start of the latest one written. The writers' clock is
    // at or past that start, so a slice that expired by then is certainly no longer live; one that expires later may be,
    // and stays.
    private void DropPast(DateOnly latestStart)
    {
        var cutoff = new DateTimeOffset(latestStart.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var endedBy = latestStart.AddDays(-1);
        foreach (var (scope, entry) in _rows)
        {
            if (PeriodOf(scope) is { End: var end } && end <= endedBy && entry.Row.Leases.All(l => l.ExpiresAt <= cutoff))
            {
                _rows.Remove(scope);
            }
        }
    }

    // The day (…|dyyyyMMdd) or month (…|myyyyMM) a budget scope counts, as BudgetGuard names them; null for other names.
    private static (DateOnly Start, DateOnly End)? PeriodOf(string scope)
    {
        var period = scope.AsSpan(scope.LastIndexOf('|') + 1);
        if (period is ['d', .. var day] && DateOnly.TryParseExact(day, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var first))
        {
            return (first, first.AddDays(1));
        }

        if (period is ['m', .. var month] && DateOnly.TryParseExact(month, "yyyyMM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var firstOfMonth))
        {
            return (firstOfMonth, firstOfMonth.AddMonths(1));
        }

        return null;
    }
}
