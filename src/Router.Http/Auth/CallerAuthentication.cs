using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Router.Core.Catalog;
using Router.Core.Metering;

namespace Router.Http.Auth;

/// <summary>Reads the caller's key from <c>Authorization: Bearer</c> or <c>api-key</c> and resolves the tenant.</summary>
public sealed class CallerAuthentication(
    ApiKeyAuthenticator authenticator,
    IApiKeyStore keys,
    IOptions<RouterHttpOptions> httpOptions,
    IOptionsMonitor<RouterOptions> routerOptions)
{
    /// <summary>The caller, or null when the key is missing or not valid (answer 401).</summary>
    public async ValueTask<Caller?> AuthenticateAsync(HttpContext context)
    {
        // With no keys at all, a loopback caller is the local tenant whatever it sends: SDKs insist on some key.
        if (httpOptions.Value.AnonymousLoopbackTenant is { } tenant
            && IsLoopback(context)
            && !await keys.HasKeysAsync(context.RequestAborted))
        {
            return new Caller(tenant, null);
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
}
