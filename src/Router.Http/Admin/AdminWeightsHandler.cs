using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Router.Core.Weights;
using Router.Http.Auth;
using Router.Infrastructure.Weights;

namespace Router.Http.Admin;

/// <summary><c>GET /admin/weights</c> (the snapshot in use, with its evidence) and <c>POST /admin/weights/recompute</c>
/// (run a recompute now, as the timer would).</summary>
public sealed class AdminWeightsHandler(CallerAuthentication authentication, IRoutingWeightsSource weights, WeightsRecomputer recomputer, TimeProvider time)
{
    /// <summary>The snapshot this router uses.</summary>
    public async Task GetAsync(HttpContext context)
    {
        if (!await AdminRequests.AuthorizeAsync(context, authentication, time))
        {
            return;
        }

        await AdminRequests.WriteAsync(context, StatusCodes.Status200OK, WeightsDocument.From(weights.Current), WeightsJsonContext.Default.WeightsDocument);
    }

    /// <summary>Recomputes now; 200 with the new snapshot, or 409 when an overlapping run wrote the version first.</summary>
    public async Task RecomputeAsync(HttpContext context)
    {
        if (!await AdminRequests.AuthorizeAsync(context, authentication, time))
        {
            return;
        }

        var (written, current) = await recomputer.RecomputeAsync(context.RequestAborted);
        await AdminRequests.WriteAsync(context, written ? StatusCodes.Status200OK : StatusCodes.Status409Conflict, WeightsDocument.From(current), WeightsJsonContext.Default.WeightsDocument);
    }
}
