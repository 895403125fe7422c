using Flatpeak.Devices.Api.Common;
using Microsoft.AspNetCore.Mvc;

namespace Flatpeak.Devices.Api.Devices;

public static class DeviceTypes
{
    public static readonly IReadOnlyList<string> All = ["EV_CHARGER", "ELECTRIC_VEHICLE", "BATTERY_SYSTEM", "PV_SYSTEM", "OTHER"];

    public static bool IsKnown(string? type) => type is not null && All.Contains(type, StringComparer.Ordinal);
}

public sealed class DeviceProperties
{
    private readonly SentFields _sent = new();

    public double? PowerRatingImportKwh { get; set => field = _sent.Mark(nameof(PowerRatingImportKwh), value); }
    public double? CapacityKwh { get; set => field = _sent.Mark(nameof(CapacityKwh), value); }
    public double? PowerRatingExportKwh { get; set => field = _sent.Mark(nameof(PowerRatingExportKwh), value); }
    public double? PvAzimuth { get; set => field = _sent.Mark(nameof(PvAzimuth), value); }
    public double? PvTilt { get; set => field = _sent.Mark(nameof(PvTilt), value); }
    public bool? PvTerrainShading { get; set => field = _sent.Mark(nameof(PvTerrainShading), value); }
    public bool? PvForecastsEnabled { get; set => field = _sent.Mark(nameof(PvForecastsEnabled), value); }
    public DateTimeOffset? InstallDate { get; set => field = _sent.Mark(nameof(InstallDate), value); }

    /// <summary>Whether the request body set this property (a partial update changes only those).</summary>
    public bool Sent(string property) => _sent.Contains(property);
}

public sealed record CreateDeviceRequest(
    string? ReferenceId,
    string? Type,
    IReadOnlyList<string?>? Locations,
    string? Manufacturer,
    string? ModelCode,
    string? ModelName,
    DeviceProperties? Properties);

/// <summary>A partial update: a property left out stays as it is; <c>null</c> clears an optional one.</summary>
public sealed class UpdateDeviceRequest
{
    private readonly SentFields _sent = new();

    public string? ReferenceId { get; set => field = _sent.Mark(nameof(ReferenceId), value); }
    public string? Type { get; set => field = _sent.Mark(nameof(Type), value); }
    public IReadOnlyList<string?>? Locations { get; set => field = _sent.Mark(nameof(Locations), value); }
    public string? Manufacturer { get; set => field = _sent.Mark(nameof(Manufacturer), value); }
    public string? ModelCode { get; set => field = _sent.Mark(nameof(ModelCode), value); }
    public string? ModelName { get; set => field = _sent.Mark(nameof(ModelName), value); }
    public DeviceProperties? Properties { get; set => field = _sent.Mark(nameof(Properties), value); }

    public bool Sent(string property) => _sent.Contains(property);
}

public sealed record DeletedDeviceResponse(string Id, string Object, bool LiveMode, bool Deleted);

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
        new DeviceProperties
        {
            PowerRatingImportKwh = device.PowerRatingImportKwh,
            CapacityKwh = device.CapacityKwh,
            PowerRatingExportKwh = device.PowerRatingExportKwh,
            PvAzimuth = device.PvAzimuth,
            PvTilt = device.PvTilt,
            PvTerrainShading = device.PvTerrainShading,
            PvForecastsEnabled = device.PvForecastsEnabled,
            InstallDate = device.InstallDate,
        },
        device.LastSeen);
}
