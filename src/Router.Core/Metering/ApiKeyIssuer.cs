using System.Text.RegularExpressions;
using Router.Core.Chat;

namespace Router.Core.Metering;

/// <summary>Issues, revokes and rotates keys for registered tenants; the plain key is returned once and never stored.</summary>
public sealed partial class ApiKeyIssuer(IApiKeyStore keys, ITenantPolicyStore tenants, ApiKeyAuthenticator authenticator, TimeProvider time)
{
    /// <summary>A valid tenant id: letters, digits, <c>_ . -</c>, up to 64 characters, starting with a letter or digit.</summary>
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    public static partial Regex TenantIdPattern();

    /// <summary>Issues a key, registering its tenant with default settings when it is not registered yet; 400 when the
    /// tenant id is missing or malformed or a limit is invalid.</summary>
    public async Task<(ApiKeyRecord? Record, string? Key, RouterError? Error)> IssueAsync(
        string? tenantId, string? name, DateTimeOffset? expiresAt, KeyLimits limits, CancellationToken cancellationToken, string? limitsKeyId = null)
    {
        var errors = new List<string>();
        var code = "invalid_value";
        if (string.IsNullOrWhiteSpace(tenantId))
        {
            errors.Add("'tenant' is required.");
            code = "missing_required_parameter";
        }
        else if (!TenantIdPattern().IsMatch(tenantId) && !(await tenants.GetAsync(tenantId, cancellationToken)).Registered)
        {
            // The id of a tenant to register (a registered one, from configuration too, keeps whatever id it has).
            errors.Add($"'tenant' must be letters, digits, '_', '.' or '-', up to 64 characters, starting with a letter or digit; got '{(tenantId.Length > 64 ? tenantId[..64] + "…" : tenantId)}'.");
        }

        if (name is { Length: > 200 })
        {
            errors.Add("'name' is longer than 200 characters.");
        }

        if (expiresAt is { } expires && expires <= time.GetUtcNow())
        {
            errors.Add("'expires_at' is in the past.");
        }

        errors.AddRange(TenantSettingsRules.Check(null, null, null, limits.DailyBudgetUsd, limits.MonthlyBudgetUsd, limits.RequestsPerMinute, limits.TokensPerMinute, null)
            .Select(ToSnake));
        if (errors.Count > 0)
        {
            return (null, null, RouterError.InvalidRequest(string.Join(" ", errors), errors[0].StartsWith("'tenant'", StringComparison.Ordinal) ? "tenant" : null, code));
        }

        if (!(await tenants.GetAsync(tenantId!, cancellationToken)).Registered)
        {
            // The contract's own example creates a key for a tenant nobody registered: it is registered as POST
            // /admin/tenants with only its id would, and a tenant that exists (in configuration too, or created by
            // another instance meanwhile: the create is an insert) is left as it is.
            await tenants.CreateAsync(TenantPolicy.Default(tenantId!) with { Registered = true }, cancellationToken);
        }

        var key = ApiKeyFormat.Generate();
        var record = new ApiKeyRecord
        {
            Id = ApiKeyFormat.NewId(),
            TenantId = tenantId!,
            Name = name ?? "",
            Hash = ApiKeyFormat.Hash(key),
            Prefix = key[..7],
            CreatedAt = time.GetUtcNow(),
            ExpiresAt = expiresAt,
            Limits = limits,
            LimitsKeyId = limitsKeyId,
        };
        await keys.CreateAsync(record, cancellationToken);
        authenticator.Forget(record.Hash);
        return (record, key, null);
    }

    /// <summary>Revokes a key; null when no key has this id.</summary>
    public async Task<ApiKeyRecord?> RevokeAsync(string id, CancellationToken cancellationToken)
    {
        if (!await keys.RevokeAsync(id, time.GetUtcNow(), cancellationToken))
        {
            return null;
        }

        var revoked = await keys.FindByIdAsync(id, cancellationToken);
        if (revoked is not null)
        {
            authenticator.Forget(revoked.Hash);
        }

        return revoked;
    }

    /// <summary>Issues a replacement with the same tenant, name, expiry and limits, then revokes the old key. The new key
    /// shares the old one's budgets and rate limits (rotating is no way to a fresh allowance); an expired key is not
    /// rotated (an expiry in the past would have been dropped, making a key that never expires).</summary>
    public async Task<(ApiKeyRecord? Record, string? Key, RouterError? Error)> RotateAsync(string id, CancellationToken cancellationToken)
    {
        var old = await keys.FindByIdAsync(id, cancellationToken);
        if (old is null || old.RevokedAt is not null)
        {
            return (null, null, RouterError.NotFound($"No active key with id '{id}'."));
        }

        if (old.ExpiresAt is { } expired && expired <= time.GetUtcNow())
        {
            return (null, null, RouterError.InvalidRequest($"Key '{id}' expired at {expired:yyyy-MM-dd'T'HH:mm:ss'Z'}; issue a new key instead of rotating it.", "id", "key_expired"));
        }

        var issued = await IssueAsync(old.TenantId, old.Name, old.ExpiresAt, old.Limits, cancellationToken, old.LimitsKeyId ?? old.Id);
        if (issued.Error is null)
        {
            await RevokeAsync(id, cancellationToken);
        }

        return issued;
    }

    private static string ToSnake(string error) => error
        .Replace("DailyBudgetUsd", "daily_budget_usd", StringComparison.Ordinal)
        .Replace("MonthlyBudgetUsd", "monthly_budget_usd", StringComparison.Ordinal)
        .Replace("RequestsPerMinute", "requests_per_minute", StringComparison.Ordinal)
        .Replace("TokensPerMinute", "tokens_per_minute", StringComparison.Ordinal);
}
