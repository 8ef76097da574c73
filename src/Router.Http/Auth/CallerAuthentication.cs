using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Metering;

namespace Router.Http.Auth;

/// <summary>Reads the caller's key from <c>Authorization: Bearer</c> or <c>api-key</c> and resolves the tenant.</summary>
public sealed partial class CallerAuthentication(
    ApiKeyAuthenticator authenticator,
    IApiKeyStore keys,
    IOptions<RouterHttpOptions> httpOptions,
    IOptionsMonitor<RouterOptions> routerOptions,
    ILogger<CallerAuthentication> logger)
{
    /// <summary>The caller, or null when the key is missing or not valid (answer 401).</summary>
    public async ValueTask<Caller?> AuthenticateAsync(HttpContext context)
    {
        // With no keys at all, a loopback caller is the local tenant whatever key it sends (SDKs insist on some key),
        // unless the request says it is not the machine user's own process: then it needs a key like anywhere else,
        // and gets the same 401 (which of the checks refused it goes to the log, not to a probing page).
        if (httpOptions.Value.AnonymousLoopbackTenant is { } tenant
            && IsLoopback(context)
            && !await keys.HasKeysAsync(context.RequestAborted))
        {
            if (LocalCallerCheck.Check(context.Request) is not { } refusal)
            {
                return new Caller(tenant, null);
            }

            Log.LocalTenantRefused(logger, tenant, refusal);
        }

        return await authenticator.AuthenticateAsync(PresentedKey(context.Request), context.RequestAborted);
    }

    /// <summary>True when the request carries the configured admin key (compared in constant time).</summary>
    public bool IsAdmin(HttpContext context)
    {
        var adminKey = routerOptions.CurrentValue.AdminKey;
        var presented = PresentedKey(context.Request);
        if (string.IsNullOrEmpty(adminKey) || presented is null)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)),
            SHA256.HashData(Encoding.UTF8.GetBytes(adminKey)));
    }

    internal static string? PresentedKey(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = authorization["Bearer ".Length..].Trim();
            return token.Length > 0 ? token : null;
        }

        var apiKey = request.Headers["api-key"].ToString().Trim();
        return apiKey.Length > 0 ? apiKey : null;
    }

    private static bool IsLoopback(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1901, Level = LogLevel.Warning, Message = "A loopback request was refused tenant '{Tenant}' without a key ({Refusal}: a proxy's Forwarded headers, a Host that is not loopback, or a browser page of another origin); it needs an API key")]
        public static partial void LocalTenantRefused(ILogger logger, string tenant, LocalCallerRefusal refusal);
    }
}
