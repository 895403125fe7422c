using System.Text.Json;
using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Common.Json;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Events;
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
        var locations = routes.MapGroup("/locations").WithTags("Locations").RequireAuthorization()
            .ProducesErrorsOfAuthenticatedEndpoints().WithStrictQuery();

        locations.MapPost("/", Create)
            .WithName("location_create")
            .WithSummary("Create a location")
            .WithValidation<CreateLocationRequest>()
            .ProducesBodyErrors()
            .WithIdempotency<CreateLocationRequest>();

        locations.MapGet("/", List)
            .WithName("location_list")
            .WithSummary("List locations, newest first")
            .WithValidation<LocationListQuery>();

        locations.MapGet("/{id}", Get)
            .WithName("location_get")
            .WithSummary("Retrieve a location")
            .ProducesApiError(StatusCodes.Status404NotFound);

        return routes;
    }

    public static async Task<Created<LocationResponse>> Create(
        CreateLocationRequest request, Caller caller, DevicesDbContext db, TimeProvider time, HttpContext http, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().TruncateToSeconds();
        var location = new Location
        {
            Id = ObjectIds.New(ObjectIds.Location, now),
            AccountId = caller.AccountId,
            LiveMode = caller.LiveMode,
            ReferenceId = request.ReferenceId,
            CustomerId = request.CustomerId,
            AddressLine1 = request.PostalAddress?.AddressLine1,
            AddressLine2 = request.PostalAddress?.AddressLine2,
            City = request.PostalAddress?.City,
            State = request.PostalAddress?.State,
            PostCode = request.PostalAddress?.PostCode,
            CountryCode = request.PostalAddress?.CountryCode,
            TimeCreated = now,
        };
        var response = LocationResponse.From(location, []);
        var change = new ChangeEvent(caller.AccountId, caller.LiveMode, EventTypes.LocationCreate, JsonSerializer.Serialize(response, ApiJsonContext.Default.LocationResponse), now);
        var claim = http.Features.Get<IdempotencyClaim>();
        var path = $"/locations/{location.Id}";
        var statements = LocationStatements.For(db);
        await db.WriteOnceAsync(
            () => change,
            ct => db.ExecuteChangeAsync<int>(statements.Create, statements.Columns.Parameters(location), change, claim, (StatusCodes.Status201Created, path), ct),
            inTransaction: false,
            cancellationToken);
        claim?.ResponseStored = true;
        return TypedResults.Created(path, response);
    }

    public static async Task<Results<Ok<LocationResponse>, NotFound<ApiError>>> Get(
        string id, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken)
    {
        var location = await db.Locations
            .Where(l => l.Id == id && l.AccountId == caller.AccountId && l.LiveMode == caller.LiveMode)
            .SingleOrDefaultAsync(cancellationToken);
        if (location is null)
        {
            return ApiErrors.NotFound(http, "location", id);
        }

        var devices = await DevicesAtAsync(db, caller, [location.Id], cancellationToken);
        return TypedResults.Ok(LocationResponse.From(location, devices[location.Id]));
    }

    public static async Task<Ok<ListResponse<LocationResponse>>> List(
        [AsParameters] LocationListQuery query, Caller caller, DevicesDbContext db, CancellationToken cancellationToken)
    {
        var page = await db.Locations
            .Where(l => l.AccountId == caller.AccountId && l.LiveMode == caller.LiveMode)
            .PageAsync(query, cancellationToken);
        var devices = await DevicesAtAsync(db, caller, [.. page.Items.Select(l => l.Id)], cancellationToken);
        return TypedResults.Ok(page.ToListResponse("/locations", l => LocationResponse.From(l, devices[l.Id])));
    }

    /// <summary>For each location, the ids of the caller's devices that reference it, newest first: one query for a whole page.</summary>
    private static async Task<ILookup<string, string>> DevicesAtAsync(
        DevicesDbContext db, Caller caller, List<string> locationIds, CancellationToken cancellationToken)
    {
        var devices = await db.Devices
            .Where(d => d.AccountId == caller.AccountId && d.LiveMode == caller.LiveMode && d.LocationIds.Any(l => locationIds.Contains(l)))
            .OrderByDescending(d => d.Id)
            .Select(d => new { d.Id, d.LocationIds })
            .ToListAsync(cancellationToken);
        return devices
            .SelectMany(d => d.LocationIds.Where(locationIds.Contains).Select(l => (Location: l, Device: d.Id)))
            .ToLookup(x => x.Location, x => x.Device, StringComparer.Ordinal);
    }
}
