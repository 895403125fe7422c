using System.Text.Json;
using System.Text.Json.Nodes;
using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Common.Json;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Data.Batching;
using Flatpeak.Devices.Api.Events;
using Flatpeak.Devices.Api.Idempotency;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Devices;

public static class DeviceEndpoints
{
    public static IServiceCollection AddDevices(this IServiceCollection services) =>
        services
            .AddSingleton<IValidator<CreateDeviceRequest>, CreateDeviceRequestValidator>()
            .AddSingleton<IValidator<DeviceListQuery>, DeviceListQueryValidator>()
            .AddBatchedWrite<DeviceCreate, DeviceCreateOutcome, DeviceCreates>();

    public static IEndpointRouteBuilder MapDevices(this IEndpointRouteBuilder routes)
    {
        var devices = routes.MapObjectRoutes<CreateDeviceRequest, DeviceListQuery>("device", "/devices", "Devices", Create, List, Get, Update, Delete);
        devices.Create.WithDescription(
            "Registers a device (an EV charger, a car, a home battery, a solar system…) at one or more of your locations. " +
            "Create a location first (POST /locations) and put its id in locations: the example's location id is not one of yours, " +
            "so sending the example as it is answers 400 location_not_found.");
        devices.Update.WithDescription("A JSON merge patch: changes only the fields sent; null clears an optional field.");
        return routes;
    }

    /// <summary>How the shared write path (<see cref="ObjectWrites"/>) writes a device.</summary>
    public static readonly ObjectKind<Device, CreateDeviceRequest, DeviceResponse> Kind = new(
        "device",
        "/devices",
        ApiJsonContext.Default.CreateDeviceRequest,
        ApiJsonContext.Default.DeviceResponse,
        (request, device) => request.ApplyTo(device),
        (device, _) => DeviceResponse.From(device),
        EmbeddedIds: null,
        MissingLocation,
        InUse: null,
        OwnedRows: device => device.LocationIds.Select(l => new DeviceLocation
        {
            AccountId = device.AccountId,
            LiveMode = device.LiveMode,
            LocationId = l,
            DeviceId = device.Id,
        }));

    /// <summary>The 400 for the first of a device's locations that is not a location of its account and mode.</summary>
    public static BadRequest<ApiError> LocationNotFound(HttpContext http, Device device, int index) =>
        ApiErrors.BadRequest(http, "location_not_found", $"No such location: '{device.LocationIds[index]}'.", $"locations[{index}]");

    private static async Task<BadRequest<ApiError>?> MissingLocation(HttpContext http, DevicesDbContext db, Device device, CancellationToken cancellationToken)
    {
        var found = await db.Locations
            .Where(l => l.AccountId == device.AccountId && l.LiveMode == device.LiveMode && device.LocationIds.Contains(l.Id))
            .Select(l => l.Id)
            .ToListAsync(cancellationToken);
        var index = device.LocationIds.FindIndex(id => !found.Contains(id));
        return index < 0 ? null : LocationNotFound(http, device, index);
    }

    /// <summary>
    /// Creates a device in a statement shared with the creates in flight beside it (<see cref="DeviceCreates"/>); its
    /// answer, event and Idempotency-Key replay are its own, and it is answered once the statement has committed.
    /// </summary>
    public static async Task<Results<Created<DeviceResponse>, BadRequest<ApiError>>> Create(
        CreateDeviceRequest request, Caller caller, WriteBatcher<DeviceCreate, DeviceCreateOutcome> creates, FeedSignal feed, TimeProvider time,
        HttpContext http, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().TruncateToSeconds();
        var device = new Device
        {
            Id = ObjectIds.New(ObjectIds.Device, now),
            AccountId = caller.AccountId,
            LiveMode = caller.LiveMode,
            ReferenceId = null!,
            Type = null!,
            LocationIds = null!,
            TimeCreated = now,
        };
        request.ApplyTo(device);
        var response = DeviceResponse.From(device);
        var path = $"{Kind.Path}/{device.Id}";
        var create = new DeviceCreate(
            device, Kind.Serialize(response), ObjectIds.New(ObjectIds.Event, now), path, http.Features.Get<IdempotencyClaim>()?.Key);
        if ((await creates.WriteAsync(create, cancellationToken)).MissingLocation is { } index)
        {
            return LocationNotFound(http, device, index);
        }

        IdempotencyClaim.Committed(http);
        feed.Committed();
        return TypedResults.Created(path, response);
    }

    public static async Task<Ok<ListResponse<DeviceResponse>>> List(
        [AsParameters] DeviceListQuery query, Caller caller, DevicesDbContext db, CancellationToken cancellationToken)
    {
        var devices = db.Devices.Where(d => d.AccountId == caller.AccountId && d.LiveMode == caller.LiveMode);
        if (query.ReferenceId is not null)
        {
            devices = devices.Where(d => d.ReferenceId == query.ReferenceId);
        }

        if (query.LocationId is not null)
        {
            // A join driven by device_locations, whose key is ordered by device id: PostgreSQL reads the page's ids off
            // that index whether the location has three devices or a million (a semi-join walked every device instead).
            var located = db.DeviceLocations.Where(l => l.AccountId == caller.AccountId && l.LiveMode == caller.LiveMode && l.LocationId == query.LocationId);
            devices = devices.Join(located, d => d.Id, l => l.DeviceId, (d, _) => d);
        }

        var page = await devices.PageAsync(query, cancellationToken);
        return TypedResults.Ok(page.ToListResponse("/devices", DeviceResponse.From));
    }

    public static async Task<Results<Ok<DeviceResponse>, NotFound<ApiError>>> Get(
        string id, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken)
    {
        var device = await Owned(db, caller, id).SingleOrDefaultAsync(cancellationToken);
        return device is null ? ApiErrors.NotFound(http, "device", id) : TypedResults.Ok(DeviceResponse.From(device));
    }

    /// <summary>A JSON merge patch (RFC 7396) of the device, validated by the rules of a create.</summary>
    public static Task<Results<Ok<DeviceResponse>, BadRequest<ApiError>, NotFound<ApiError>>> Update(
        string id, JsonElement body, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken) =>
        ObjectWrites.UpdateAsync(Kind, id, body, caller, db, http, cancellationToken);

    /// <summary>Nothing references a device, so a delete is never refused.</summary>
    public static async Task<Results<Accepted<DeletedResponse>, NotFound<ApiError>>> Delete(
        string id, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken) =>
        (await ObjectWrites.DeleteAsync(Kind, id, caller, db, http, cancellationToken)).Result switch
        {
            Accepted<DeletedResponse> deleted => deleted,
            NotFound<ApiError> notFound => notFound,
            var other => throw new InvalidOperationException($"A device delete answered {other?.GetType().Name}."),
        };

    private static IQueryable<Device> Owned(DevicesDbContext db, Caller caller, string id) =>
        db.Devices.Where(d => d.AccountId == caller.AccountId && d.LiveMode == caller.LiveMode && d.Id == id);
}
