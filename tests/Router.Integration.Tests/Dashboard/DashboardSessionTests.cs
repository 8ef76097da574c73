using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Router.Testing.Simulator;

namespace Router.Integration.Tests.Dashboard;

/// <summary>The dashboard's sign-in cookie: proof of the admin key that the server itself expires.</summary>
public sealed class DashboardSessionTests
{
    private const string AdminKey = "dashboard-session-admin-key";

    [Fact]
    public async Task A_sign_in_lasts_eight_hours_on_the_server_and_a_forged_or_old_style_cookie_is_refused()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:AdminKey"] = AdminKey;
        await using var router = await RouterServerHost.StartAsync(settings, b => b.Services.AddSingleton<TimeProvider>(time));
        using var handler = new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { BaseAddress = router.BaseUrl };

        using var login = await http.PostAsync("dashboard/login", new FormUrlEncodedContent([new("key", AdminKey)]));
        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        var cookie = login.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        Assert.DoesNotContain(AdminKey, cookie, StringComparison.Ordinal);

        var fresh = await DataAsync(cookie);
        time.Advance(TimeSpan.FromHours(8) - TimeSpan.FromMinutes(1));
        var late = await DataAsync(cookie);
        time.Advance(TimeSpan.FromMinutes(2));
        var expired = await DataAsync(cookie);

        // The cookie the dashboard used to set never expired on the server: an HMAC of a constant under the key.
        var oldStyle = "router_admin=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(AdminKey), "router-dashboard-v1"u8));
        // Moving the expiry forward breaks the HMAC.
        var value = cookie["router_admin=".Length..];
        var stretched = "router_admin=" + (long.Parse(value.Split('.')[0], System.Globalization.CultureInfo.InvariantCulture) + 86_400) + "." + value.Split('.')[1];

        Assert.Equal(HttpStatusCode.OK, fresh);
        Assert.Equal(HttpStatusCode.OK, late);
        Assert.Equal(HttpStatusCode.Unauthorized, expired);
        Assert.Equal(HttpStatusCode.Unauthorized, await DataAsync(oldStyle));
        Assert.Equal(HttpStatusCode.Unauthorized, await DataAsync(stretched));

        async Task<HttpStatusCode> DataAsync(string cookieHeader)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "admin/dashboard/data");
            request.Headers.Add("Cookie", cookieHeader);
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }
    }

    [Fact]
    public async Task Sign_out_clears_the_cookie_and_returns_to_the_login_form()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:AdminKey"] = AdminKey;
        await using var router = await RouterServerHost.StartAsync(settings);
        using var handler = new HttpClientHandler { AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { BaseAddress = router.BaseUrl };

        using var login = await http.PostAsync("dashboard/login", new FormUrlEncodedContent([new("key", AdminKey)]));
        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        using var signedIn = await http.GetAsync("dashboard");
        var page = await signedIn.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
        Assert.Contains("action=\"/dashboard/logout\"", page, StringComparison.Ordinal);

        using var logout = await http.PostAsync("dashboard/logout", content: null);
        Assert.Equal(HttpStatusCode.SeeOther, logout.StatusCode);
        Assert.Equal("/dashboard", logout.Headers.Location?.OriginalString);
        var cleared = logout.Headers.GetValues("Set-Cookie").Single();
        Assert.StartsWith("router_admin=;", cleared, StringComparison.Ordinal);
        Assert.Contains("expires=Thu, 01 Jan 1970", cleared, StringComparison.OrdinalIgnoreCase);

        // The handler's cookie container applied the deletion: the dashboard is the login form again.
        Assert.Empty(handler.CookieContainer.GetCookies(router.BaseUrl));
        using var after = await http.GetAsync("dashboard");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        using var data = await http.GetAsync("admin/dashboard/data");
        Assert.Equal(HttpStatusCode.Unauthorized, data.StatusCode);
    }

    [Fact]
    public async Task An_oversized_login_form_is_the_login_form_again_not_a_500()
    {
        await using var simulator = await SimulatedProvider.StartAsync();
        var settings = RouterServerHost.SimulatedCatalog(simulator);
        settings["Router:AdminKey"] = AdminKey;
        await using var router = await RouterServerHost.StartAsync(settings);
        using var handler = new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { BaseAddress = router.BaseUrl };

        using var huge = await http.PostAsync("dashboard/login", new FormUrlEncodedContent([new("key", new string('k', 5_000_000))]));
        using var many = await http.PostAsync("dashboard/login", new FormUrlEncodedContent(Enumerable.Range(0, 1000).Select(i => new KeyValuePair<string, string>("f" + i, "v"))));
        using var right = await http.PostAsync("dashboard/login", new FormUrlEncodedContent([new("key", AdminKey)]));

        Assert.Equal(HttpStatusCode.Unauthorized, huge.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, many.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, right.StatusCode);
    }
}
