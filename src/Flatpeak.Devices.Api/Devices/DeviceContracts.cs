namespace Flatpeak.Devices.Api.Devices;

public static class DeviceTypes
{
    public static readonly IReadOnlyList<string> All = ["EV_CHARGER", "ELECTRIC_VEHICLE", "BATTERY_SYSTEM", "PV_SYSTEM", "OTHER"];

    public static bool IsKnown(string? type) => type is not null && All.Contains(type, StringComparer.Ordinal);
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

public sealed record CreateDeviceRequest(
    string? ReferenceId,
    string? Type,
    IReadOnlyList<string?>? Locations,
    string? Manufacturer,
    string? ModelCode,
    string? ModelName,
    DeviceProperties? Properties);

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
