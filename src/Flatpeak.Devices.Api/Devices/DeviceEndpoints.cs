using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Events;
using Flatpeak.Devices.Api.Idempotency;
using Flatpeak.Devices.Api.Locations;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Devices;

public static class DeviceEndpoints
{
    public static IServiceCollection AddDevices(this IServiceCollection services) =>
        services
            .AddSingleton<IValidator<CreateDeviceRequest>, CreateDeviceRequestValidator>()
            .AddSingleton<IValidator<UpdateDeviceRequest>, UpdateDeviceRequestValidator>()
            .AddSingleton<IValidator<DeviceListQuery>, DeviceListQueryValidator>();

    public static IEndpointRouteBuilder MapDevices(this IEndpointRouteBuilder routes)
    {
        var devices = routes.MapGroup("/devices").WithTags("Devices").RequireAuthorization()
            .ProducesErrorsOfAuthenticatedEndpoints();

        devices.MapPost("/", Create)
            .WithName("device_create")
            .WithSummary("Create a device")
            .WithDescription("Registers a device (an EV charger, a car, a home battery, a solar system…) at one or more of your locations.")
            .WithValidation<CreateDeviceRequest>()
            .ProducesBodyErrors()
            .WithIdempotency<CreateDeviceRequest>();

        devices.MapGet("/", List)
            .WithName("device_list")
            .WithSummary("List devices, newest first")
            .WithValidation<DeviceListQuery>();

        devices.MapGet("/{id}", Get)
            .WithName("device_get")
            .WithSummary("Retrieve a device")
            .ProducesApiError(StatusCodes.Status404NotFound);

        devices.MapPatch("/{id}", Update)
            .WithName("device_update")
            .WithSummary("Update a device")
            .WithDescription("Changes only the fields sent; null clears an optional field.")
            .WithValidation<UpdateDeviceRequest>()
            .ProducesBodyErrors()
            .ProducesApiError(StatusCodes.Status404NotFound);

        devices.MapDelete("/{id}", Delete)
            .WithName("device_delete")
            .WithSummary("Delete a device")
            .ProducesApiError(StatusCodes.Status404NotFound);

        return routes;
    }

    public static async Task<Results<Created<DeviceResponse>, BadRequest<ApiError>>> Create(
        CreateDeviceRequest request, Caller caller, DevicesDbContext db, TimeProvider time, HttpContext http, CancellationToken cancellationToken)
    {
        var locationIds = request.Locations!.Select(id => id!).ToList();
        if (await LocationNotFoundAsync(db, caller, locationIds, http, cancellationToken) is { } notFound)
        {
            return notFound;
        }

        var now = time.GetUtcNow().TruncateToSeconds();
        var device = new Device
        {
            Id = ObjectIds.New(ObjectIds.Device, now),
            AccountId = caller.AccountId,
            LiveMode = caller.LiveMode,
            ReferenceId = request.ReferenceId!,
            Type = request.Type!,
            LocationIds = locationIds,
            Manufacturer = request.Manufacturer,
            ModelCode = request.ModelCode,
            ModelName = request.ModelName,
            TimeCreated = now,
        };
        ApplyProperties(device, request.Properties);

        var response = DeviceResponse.From(device);
        db.Devices.Add(device);
        var eventId = db.RecordDeviceEvent(EventTypes.DeviceCreate, response, now);
        await SaveWithEventAsync(db, eventId, cancellationToken);
        return TypedResults.Created($"/devices/{device.Id}", response);
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
            devices = devices.Where(d => d.LocationIds.Contains(query.LocationId));
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

    public static async Task<Results<Ok<DeviceResponse>, BadRequest<ApiError>, NotFound<ApiError>>> Update(
        string id, UpdateDeviceRequest request, Caller caller, DevicesDbContext db, TimeProvider time, HttpContext http, CancellationToken cancellationToken)
    {
        var device = await Owned(db, caller, id).AsTracking().SingleOrDefaultAsync(cancellationToken);
        if (device is null)
        {
            return ApiErrors.NotFound(http, "device", id);
        }

        if (request.Sent(nameof(request.Locations)))
        {
            var locationIds = request.Locations!.Select(l => l!).ToList();
            if (await LocationNotFoundAsync(db, caller, locationIds, http, cancellationToken) is { } notFound)
            {
                return notFound;
            }

            device.LocationIds = locationIds;
        }

        if (request.Sent(nameof(request.ReferenceId)))
        {
            device.ReferenceId = request.ReferenceId!;
        }

        if (request.Sent(nameof(request.Type)))
        {
            device.Type = request.Type!;
        }

        if (request.Sent(nameof(request.Manufacturer)))
        {
            device.Manufacturer = request.Manufacturer;
        }

        if (request.Sent(nameof(request.ModelCode)))
        {
            device.ModelCode = request.ModelCode;
        }

        if (request.Sent(nameof(request.ModelName)))
        {
            device.ModelName = request.ModelName;
        }

        if (request.Sent(nameof(request.Properties)))
        {
            ApplyProperties(device, request.Properties);
        }

        var response = DeviceResponse.From(device);
        if (db.ChangeTracker.HasChanges())
        {
            var eventId = db.RecordDeviceEvent(EventTypes.DeviceUpdate, response, time.GetUtcNow().TruncateToSeconds());
            if (!await TrySaveAsync(db, eventId, cancellationToken))
            {
                return ApiErrors.NotFound(http, "device", id);
            }
        }

        return TypedResults.Ok(response);
    }

    public static async Task<Results<Ok<DeletedDeviceResponse>, NotFound<ApiError>>> Delete(
        string id, Caller caller, DevicesDbContext db, TimeProvider time, HttpContext http, CancellationToken cancellationToken)
    {
        var device = await Owned(db, caller, id).AsTracking().SingleOrDefaultAsync(cancellationToken);
        if (device is null)
        {
            return ApiErrors.NotFound(http, "device", id);
        }

        db.Devices.Remove(device);
        var eventId = db.RecordDeviceEvent(EventTypes.DeviceDelete, DeviceResponse.From(device), time.GetUtcNow().TruncateToSeconds());
        return await TrySaveAsync(db, eventId, cancellationToken)
            ? TypedResults.Ok(new DeletedDeviceResponse(device.Id, "device", device.LiveMode, Deleted: true))
            : ApiErrors.NotFound(http, "device", id);
    }

    private static IQueryable<Device> Owned(DevicesDbContext db, Caller caller, string id) =>
        db.Devices.Where(d => d.Id == id && d.AccountId == caller.AccountId && d.LiveMode == caller.LiveMode);

    private static async Task<BadRequest<ApiError>?> LocationNotFoundAsync(
        DevicesDbContext db, Caller caller, List<string> locationIds, HttpContext http, CancellationToken cancellationToken)
    {
        var missing = await Locating.FirstMissingAsync(db, caller, locationIds, cancellationToken);
        return missing is null
            ? null
            : ApiErrors.BadRequest(http, "location_not_found", $"No such location: '{locationIds[missing.Value]}'.", $"locations[{missing.Value}]");
    }

    /// <summary>Saves a change with its event exactly once: the event's id tells a retry whether the first attempt committed.</summary>
    private static Task SaveWithEventAsync(DevicesDbContext db, string eventId, CancellationToken cancellationToken) =>
        db.SaveChangesOnceAsync(ct => db.Events.AnyAsync(e => e.Id == eventId, ct), cancellationToken);

    /// <summary>Saves; false when the device was deleted by another request in the meantime.</summary>
    private static async Task<bool> TrySaveAsync(DevicesDbContext db, string eventId, CancellationToken cancellationToken)
    {
        try
        {
            await SaveWithEventAsync(db, eventId, cancellationToken);
            return true;
        }
        catch (DbUpdateConcurrencyException)
        {
            return false;
        }
    }

    /// <summary>
    /// Merge-patch of the properties: each one sent replaces the stored one; <c>null</c> for the whole object
    /// clears them all (on create there is nothing to clear).
    /// </summary>
    private static void ApplyProperties(Device device, DeviceProperties? properties)
    {
        bool Replace(string name) => properties is null || properties.Sent(name);

        if (Replace(nameof(DeviceProperties.PowerRatingImportKwh)))
        {
            device.PowerRatingImportKwh = properties?.PowerRatingImportKwh;
        }

        if (Replace(nameof(DeviceProperties.CapacityKwh)))
        {
            device.CapacityKwh = properties?.CapacityKwh;
        }

        if (Replace(nameof(DeviceProperties.PowerRatingExportKwh)))
        {
            device.PowerRatingExportKwh = properties?.PowerRatingExportKwh;
        }

        if (Replace(nameof(DeviceProperties.PvAzimuth)))
        {
            device.PvAzimuth = properties?.PvAzimuth;
        }

        if (Replace(nameof(DeviceProperties.PvTilt)))
        {
            device.PvTilt = properties?.PvTilt;
        }

        if (Replace(nameof(DeviceProperties.PvTerrainShading)))
        {
            device.PvTerrainShading = properties?.PvTerrainShading;
        }

        if (Replace(nameof(DeviceProperties.PvForecastsEnabled)))
        {
            device.PvForecastsEnabled = properties?.PvForecastsEnabled;
        }

        if (Replace(nameof(DeviceProperties.InstallDate)))
        {
            device.InstallDate = properties?.InstallDate;
        }
    }
}
