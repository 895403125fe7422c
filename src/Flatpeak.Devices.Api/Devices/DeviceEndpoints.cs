using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Locations;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Devices;

public static class DeviceEndpoints
{
    public static IServiceCollection AddDevices(this IServiceCollection services) =>
        services.AddSingleton<IValidator<CreateDeviceRequest>, CreateDeviceRequestValidator>();

    public static IEndpointRouteBuilder MapDevices(this IEndpointRouteBuilder routes)
    {
        var devices = routes.MapGroup("/devices").WithTags("Devices").RequireAuthorization()
            .ProducesErrorsOfAuthenticatedEndpoints();

        devices.MapPost("/", Create)
            .WithName("device_create")
            .WithSummary("Create a device")
            .WithDescription("Registers a device (an EV charger, a car, a home battery, a solar system…) at one or more of your locations.")
            .WithValidation<CreateDeviceRequest>();

        return routes;
    }

    public static async Task<Results<Created<DeviceResponse>, BadRequest<ApiError>>> Create(
        CreateDeviceRequest request, Caller caller, DevicesDbContext db, TimeProvider time, HttpContext http, CancellationToken cancellationToken)
    {
        var locationIds = request.Locations!.Select(id => id!).ToList();
        var missing = await Locating.FirstMissingAsync(db, caller, locationIds, cancellationToken);
        if (missing is not null)
        {
            return ApiErrors.BadRequest(http, "location_not_found",
                $"No such location: '{locationIds[missing.Value]}'.", $"locations[{missing.Value}]");
        }

        var now = time.GetUtcNow().TruncateToSeconds();
        var properties = request.Properties;
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
            PowerRatingImportKwh = properties?.PowerRatingImportKwh,
            CapacityKwh = properties?.CapacityKwh,
            PowerRatingExportKwh = properties?.PowerRatingExportKwh,
            PvAzimuth = properties?.PvAzimuth,
            PvTilt = properties?.PvTilt,
            PvTerrainShading = properties?.PvTerrainShading,
            PvForecastsEnabled = properties?.PvForecastsEnabled,
            InstallDate = properties?.InstallDate,
            TimeCreated = now,
        };
        db.Devices.Add(device);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/devices/{device.Id}", DeviceResponse.From(device));
    }
}
