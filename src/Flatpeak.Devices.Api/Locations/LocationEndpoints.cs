using System.Text.Json;
using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Common.Json;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Idempotency;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Locations;

public static class LocationEndpoints
{
    public static IServiceCollection AddLocations(this IServiceCollection services) =>
        services
            .AddSingleton<IValidator<CreateLocationRequest>, CreateLocationRequestValidator>()
            .AddSingleton<IValidator<LocationListQuery>, LocationListQueryValidator>();

    public static IEndpointRouteBuilder MapLocations(this IEndpointRouteBuilder routes)
    {
        var locations = routes.MapObjectRoutes<CreateLocationRequest, LocationListQuery>("location", "/locations", "Locations", Create, List, Get, Update, Delete);
        locations.Update.WithDescription("A JSON merge patch: changes only the fields sent, postal_address field by field; null clears a field.");
        locations.Delete.WithDescription("Refused with 409 location_in_use while any device references the location.");
        return routes;
    }

    /// <summary>How the shared write path (<see cref="ObjectWrites"/>) writes a location.</summary>
    public static readonly ObjectKind<Location, CreateLocationRequest, LocationResponse> Kind = new(
        "location",
        "/locations",
        ApiJsonContext.Default.CreateLocationRequest,
        ApiJsonContext.Default.LocationResponse,
        (request, location) => request.ApplyTo(location),
        LocationResponse.From,
        LocationStatements.DevicesAt,
        MissingCustomer,
        InUse: (db, caller, id, ct) => db.DeviceLocations.AnyAsync(l => l.AccountId == caller.AccountId && l.LiveMode == caller.LiveMode && l.LocationId == id, ct),
        OwnedRows: null);

    /// <summary>The 400 for a customer_id that is not a customer of the location's account and mode.</summary>
    private static async Task<BadRequest<ApiError>?> MissingCustomer(HttpContext http, DevicesDbContext db, Location location, CancellationToken cancellationToken) =>
        location.CustomerId is null ||
        await db.Customers.AnyAsync(c => c.AccountId == location.AccountId && c.LiveMode == location.LiveMode && c.Id == location.CustomerId, cancellationToken)
            ? null
            : ApiErrors.BadRequest(http, "customer_not_found", $"No such customer: '{location.CustomerId}'.", "customer_id");

    public static Task<Results<Created<LocationResponse>, BadRequest<ApiError>>> Create(
        CreateLocationRequest request, Caller caller, DevicesDbContext db, TimeProvider time, HttpContext http, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().TruncateToSeconds();
        var location = new Location
        {
            Id = ObjectIds.New(ObjectIds.Location, now),
            AccountId = caller.AccountId,
            LiveMode = caller.LiveMode,
            TimeCreated = now,
        };
        request.ApplyTo(location);
        return ObjectWrites.CreateAsync(Kind, location, now, caller, db, http, cancellationToken);
    }

    public static async Task<Results<Ok<LocationResponse>, NotFound<ApiError>>> Get(
        string id, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken)
    {
        var location = await db.Locations
            .Where(l => l.Id == id && l.AccountId == caller.AccountId && l.LiveMode == caller.LiveMode)
            .SingleOrDefaultAsync(cancellationToken);
        return location is null ? ApiErrors.NotFound(http, "location", id) : TypedResults.Ok(await Kind.RespondAsync(db, caller, location, cancellationToken));
    }

    public static async Task<Ok<ListResponse<LocationResponse>>> List(
        [AsParameters] LocationListQuery query, Caller caller, DevicesDbContext db, CancellationToken cancellationToken)
    {
        var locations = db.Locations.Where(l => l.AccountId == caller.AccountId && l.LiveMode == caller.LiveMode);
        if (query.ReferenceId is not null)
        {
            locations = locations.Where(l => l.ReferenceId == query.ReferenceId);
        }

        if (query.CustomerId is not null)
        {
            locations = locations.Where(l => l.CustomerId == query.CustomerId);
        }

        var page = await locations.PageAsync(query, cancellationToken);
        var devices = await Kind.EmbeddedIdsAsync(db, caller, [.. page.Items.Select(l => l.Id)], cancellationToken);
        return TypedResults.Ok(page.ToListResponse("/locations", l => LocationResponse.From(l, [.. devices[l.Id]])));
    }

    public static Task<Results<Ok<LocationResponse>, BadRequest<ApiError>, NotFound<ApiError>>> Update(
        string id, JsonElement body, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken) =>
        ObjectWrites.UpdateAsync(Kind, id, body, caller, db, http, cancellationToken);

    public static Task<Results<Accepted<DeletedResponse>, NotFound<ApiError>, Conflict<ApiError>>> Delete(
        string id, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken) =>
        ObjectWrites.DeleteAsync(Kind, id, caller, db, http, cancellationToken);
}
