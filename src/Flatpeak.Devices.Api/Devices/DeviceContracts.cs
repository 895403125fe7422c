using Flatpeak.Devices.Api.Common;
using Microsoft.AspNetCore.Mvc;

namespace Flatpeak.Devices.Api.Devices;

public static class DeviceTypes
{
    public static readonly IReadOnlyList<string> All = ["EV_CHARGER", "ELECTRIC_VEHICLE", "BATTERY_SYSTEM", "PV_SYSTEM", "OTHER"];

    public static bool IsKnown(string? type) => type is not null && All.Contains(type, StringComparer.Ordinal);
}

/// <summary>
/// The limits of a device's fields: the validator enforces them and the OpenAPI document states them, both from here.
/// </summary>
public static class DeviceLimits
{
    public const int MaxLocations = 100;

    /// <summary>The fields a device always has: required on create, and a patch cannot remove them.</summary>
    public static readonly IReadOnlyList<string> Required = ["reference_id", "type", "locations"];

    public static readonly NumberRange PowerRatingImportKwh = NumberRange.AtLeast(0);
    public static readonly NumberRange CapacityKwh = NumberRange.AtLeast(0);
    public static readonly NumberRange PowerRatingExportKwh = NumberRange.AtLeast(0);
    /// <summary>Degrees from true north, positive anticlockwise.</summary>
    public static readonly NumberRange PvAzimuth = NumberRange.Between(-180, 180);
    public static readonly NumberRange PvTilt = NumberRange.Between(0, 90);

    public static readonly DateTimeOffset EarliestInstallDate = new(1900, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset LatestInstallDate = new DateTimeOffset(9999, 12, 31, 23, 59, 59, TimeSpan.Zero).AddTicks(9_999_990);
}

public sealed record DeviceProperties(
    double? PowerRatingImportKwh,
    double? CapacityKwh,
    double? PowerRatingExportKwh,
    double? PvAzimuth,
    double? PvTilt,
    bool? PvTerrainShading,
    bool? PvForecastsEnabled,
    DateTimeOffset? InstallDate);

/// <summary>
/// The writable fields of a device: the body of a create, and what a patch is merged into (RFC 7396) and then
/// validated as, so that create and update share one definition and one set of rules.
/// </summary>
public sealed record CreateDeviceRequest(
    string? ReferenceId,
    string? Type,
    IReadOnlyList<string?>? Locations,
    string? Manufacturer,
    string? ModelCode,
    string? ModelName,
    DeviceProperties? Properties)
{
    /// <summary>Writes every writable field onto the entity (a validated request: required fields are set).</summary>
    public void ApplyTo(Device device)
    {
        var properties = Properties ?? NoProperties;
        device.ReferenceId = ReferenceId!;
        device.Type = Type!;
        device.LocationIds = [.. Locations!.Select(l => l!)];
        device.Manufacturer = Manufacturer;
        device.ModelCode = ModelCode;
        device.ModelName = ModelName;
        device.PowerRatingImportKwh = properties.PowerRatingImportKwh;
        device.CapacityKwh = properties.CapacityKwh;
        device.PowerRatingExportKwh = properties.PowerRatingExportKwh;
        device.PvAzimuth = properties.PvAzimuth;
        device.PvTilt = properties.PvTilt;
        device.PvTerrainShading = properties.PvTerrainShading;
        device.PvForecastsEnabled = properties.PvForecastsEnabled;
        device.InstallDate = properties.InstallDate;
    }

    private static readonly DeviceProperties NoProperties = new(null, null, null, null, null, null, null, null);
}

public sealed record DeviceListQuery(
    [FromQuery(Name = "limit")] string? Limit,
    [FromQuery(Name = "starting_after")] string? StartingAfter,
    [FromQuery(Name = "ending_before")] string? EndingBefore,
    [FromQuery(Name = "reference_id")] string? ReferenceId,
    [FromQuery(Name = "location_id")] string? LocationId) : IPageQuery;

public sealed record DeviceResponse(
    string Id,
    string Object,
    bool LiveMode,
    string ReferenceId,
    string Type,
    IReadOnlyList<string> Locations,
    string? Manufacturer,
    string? ModelCode,
    string? ModelName,
    DateTimeOffset TimeCreated,
    string AccountId,
    DeviceProperties Properties,
    DateTimeOffset? LastSeen)
{
    public static DeviceResponse From(Device device) => new(
        device.Id,
        "device",
        device.LiveMode,
        device.ReferenceId,
        device.Type,
        device.LocationIds,
        device.Manufacturer,
        device.ModelCode,
        device.ModelName,
        device.TimeCreated,
        device.AccountId,
        new DeviceProperties(
            device.PowerRatingImportKwh,
            device.CapacityKwh,
            device.PowerRatingExportKwh,
            device.PvAzimuth,
            device.PvTilt,
            device.PvTerrainShading,
            device.PvForecastsEnabled,
            device.InstallDate),
        device.LastSeen);
}
