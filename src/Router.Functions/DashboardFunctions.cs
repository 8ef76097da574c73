using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Router.Http.Dashboard;

namespace Router.Functions;

/// <summary>The operators' dashboard, served by the same handler as the self-hosted server.</summary>
public sealed class DashboardFunctions(DashboardHandler dashboard)
{
    /// <summary><c>GET /dashboard</c>.</summary>
    [Function(nameof(Dashboard))]
    public async Task<IActionResult> Dashboard([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard")] HttpRequest request)
    {
        await dashboard.PageAsync(request.HttpContext);
        return new EmptyResult();
    }

    /// <summary><c>POST /dashboard/login</c>.</summary>
    [Function(nameof(DashboardLogin))]
    public async Task<IActionResult> DashboardLogin([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "dashboard/login")] HttpRequest request)
    {
        await dashboard.LoginAsync(request.HttpContext);
        return new EmptyResult();
    }

    /// <summary><c>POST /dashboard/logout</c>.</summary>
    [Function(nameof(DashboardLogout))]
    public async Task<IActionResult> DashboardLogout([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "dashboard/logout")] HttpRequest request)
    {
        await dashboard.LogoutAsync(request.HttpContext);
        return new EmptyResult();
    }

    /// <summary><c>GET /admin/dashboard/data</c>.</summary>
    [Function(nameof(DashboardData))]
    public async Task<IActionResult> DashboardData([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "admin/dashboard/data")] HttpRequest request)
    {
        await dashboard.DataAsync(request.HttpContext);
        return new EmptyResult();
    }
}
