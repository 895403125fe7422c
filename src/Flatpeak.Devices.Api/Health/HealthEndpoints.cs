using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Health;

public sealed record HealthResponse(string Status);

/// <summary>Probes for orchestrators: <c>/healthz</c> says the process is up, <c>/readyz</c> that it can reach the database.</summary>
public static class HealthEndpoints
{
    private static readonly TimeSpan ReadinessTimeout = TimeSpan.FromSeconds(3);

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder routes)
    {
        var health = routes.MapGroup("").WithTags("Health").AllowAnonymous().WithStrictQuery();
        health.MapGet("/healthz", () => TypedResults.Ok(new HealthResponse("ok")))
            .WithName("health_live")
            .WithSummary("Liveness: the process is up");
        health.MapGet("/readyz", Ready)
            .WithName("health_ready")
            .WithSummary("Readiness: the database answers and its schema is this version's")
            .ProducesApiError(StatusCodes.Status503ServiceUnavailable);
        return routes;
    }

    public static async Task<Results<Ok<HealthResponse>, JsonHttpResult<ApiError>>> Ready(
        DevicesDbContext db, HttpContext http, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ReadinessTimeout);
        bool reachable;
        try
        {
            reachable = await db.Database.CanConnectAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            reachable = false;
        }

        if (!reachable)
        {
            return ApiErrors.Json(http, StatusCodes.Status503ServiceUnavailable, "database_unavailable", "The database cannot be reached.");
        }

        // Not ready while the schema is behind this version of the service (migrations still running, or not applied).
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).Count();
        return pending == 0
            ? TypedResults.Ok(new HealthResponse("ok"))
            : ApiErrors.Json(http, StatusCodes.Status503ServiceUnavailable, "schema_outdated",
                $"The database schema is behind this version of the service: {pending} migration(s) pending.");
    }
}
