using Flatpeak.Devices.Api.Common;

namespace Flatpeak.Devices.Api.Devices;

public sealed class Device : IHasObjectId
{
    public required string Id { get; init; }
    public required string AccountId { get; init; }
    public required bool LiveMode { get; init; }
    public required string ReferenceId { get; set; }
    public required string Type { get; set; }
    /// <summary>Location ids in the order the client gave them.</summary>
    public required List<string> LocationIds { get; set; }
    public string? Manufacturer { get; set; }
    public string? ModelCode { get; set; }
    public string? ModelName { get; set; }
    public double? PowerRatingImportKwh { get; set; }
    public double? CapacityKwh { get; set; }
    public double? PowerRatingExportKwh { get; set; }
    public double? PvAzimuth { get; set; }
    public double? PvTilt { get; set; }
    public bool? PvTerrainShading { get; set; }
    public bool? PvForecastsEnabled { get; set; }
    public DateTimeOffset? InstallDate { get; set; }
    public DateTimeOffset? LastSeen { get; set; }
    public required DateTimeOffset TimeCreated { get; init; }
}
