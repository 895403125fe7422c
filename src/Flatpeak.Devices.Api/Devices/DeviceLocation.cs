namespace Flatpeak.Devices.Api.Devices;

/// <summary>
/// One location a device is at: the index behind "which devices are at this location" (a location's embedded
/// devices, <c>GET /devices?location_id=</c>, the in-use check of a location delete). The device's own
/// <see cref="Device.LocationIds"/> keeps the client's order; the device's writes keep both in step (value equality: a patch removes and adds the difference).
/// </summary>
public sealed record DeviceLocation
{
    public required string AccountId { get; init; }
    public required bool LiveMode { get; init; }
    public required string LocationId { get; init; }
    public required string DeviceId { get; init; }
}
