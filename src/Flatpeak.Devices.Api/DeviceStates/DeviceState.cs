namespace Flatpeak.Devices.Api.DeviceStates;

/// <summary>
/// What a device reported at <see cref="Time"/>. Stored in <c>device_states</c>, partitioned by month of
/// <see cref="Time"/> (<see cref="Data.Partitions.PartitionMaintenance"/>); the key leads with the tenant and the device, then the time,
/// so a device's history is one range of the index, newest first.
/// </summary>
public sealed class DeviceState
{
    public required string AccountId { get; init; }
    public required bool LiveMode { get; init; }
    public required string DeviceId { get; init; }
    /// <summary>When the measurement was taken (the sender's clock), to the microsecond.</summary>
    public required DateTimeOffset Time { get; init; }
    public required string Id { get; init; }
    public required double StateOfChargePercent { get; init; }
    public required double TargetStateOfChargePercent { get; init; }
    public double? BatteryPowerKw { get; init; }
    public double? EnergyRemainingKwh { get; init; }
    public double? BackupReservePercent { get; init; }
    public string? EnergyFlowDirection { get; init; }
    public string? RecordReferenceId { get; init; }
    public string? LocationId { get; init; }
    public required DateTimeOffset TimeCreated { get; init; }
}

/// <summary>
/// A <c>record_reference_id</c> a device's sender has used, and the record it named: the same reference again replays
/// that record. A table of its own because a unique key on the partitioned table would have to include the time.
/// </summary>
public sealed class DeviceStateReference
{
    public required string AccountId { get; init; }
    public required bool LiveMode { get; init; }
    public required string DeviceId { get; init; }
    public required string RecordReferenceId { get; init; }
    public required string StateId { get; init; }
    /// <summary>The record's time: references are dropped with the partition of their record.</summary>
    public required DateTimeOffset StateTime { get; init; }
    /// <summary>SHA-256 of the submission's fields: the same reference with another body is refused.</summary>
    public required byte[] RequestHash { get; init; }
    public required DateTimeOffset TimeCreated { get; init; }
}
