using System.ComponentModel.DataAnnotations;
using Flatpeak.Devices.Api.Common;
using Microsoft.AspNetCore.Mvc;

namespace Flatpeak.Devices.Api.DeviceStates;

/// <summary>Configuration section <c>DeviceStates</c>.</summary>
public sealed class DeviceStateOptions
{
    public const string Section = "DeviceStates";

    /// <summary>How long state records are kept (by their <c>time</c>); older ones are refused, and dropped with their month's partition.</summary>
    [Range(31, 36_500)]
    public int RetentionDays { get; set; } = 400;
}

/// <summary>The limits of a state submission: the validator enforces them, the OpenAPI document states them.</summary>
public static class DeviceStateLimits
{
    public static readonly NumberRange Percent = NumberRange.Between(0, 100);
    public static readonly NumberRange EnergyRemainingKwh = NumberRange.AtLeast(0);
    public static readonly IReadOnlyList<string> EnergyFlowDirections = ["IMPORT", "EXPORT"];
    /// <summary>How far ahead of the service's clock a record's time may be (the sender's clock may run a little fast).</summary>
    public static readonly TimeSpan MaxAhead = TimeSpan.FromMinutes(5);
}

/// <summary>The body of <c>PUT /devices/{id}/state</c>: Flatpeak's fields.</summary>
public sealed record SubmitDeviceStateRequest(
    DateTimeOffset? Time,
    double? StateOfChargePercent,
    double? TargetStateOfChargePercent,
    double? BatteryPowerKw,
    double? EnergyRemainingKwh,
    double? BackupReservePercent,
    string? EnergyFlowDirection,
    string? RecordReferenceId,
    string? LocationId);

/// <summary>The answer to a submission: the record's id (the first record's, for a replayed <c>record_reference_id</c>).</summary>
public sealed record DeviceStateSubmitted(string Id, string Object, string DeviceId, string AccountId, bool LiveMode, DateTimeOffset TimeCreated);

/// <summary>A stored state record, as <c>GET /devices/{id}/state</c> and the history show it.</summary>
public sealed record DeviceStateResponse(
    string Id,
    string Object,
    string DeviceId,
    string AccountId,
    bool LiveMode,
    string? LocationId,
    DateTimeOffset Time,
    double StateOfChargePercent,
    double TargetStateOfChargePercent,
    double? BatteryPowerKw,
    double? EnergyRemainingKwh,
    double? BackupReservePercent,
    string? EnergyFlowDirection,
    string? RecordReferenceId,
    DateTimeOffset TimeCreated)
{
    public const string ObjectName = "device_state";

    public static DeviceStateResponse From(DeviceState s) => new(
        s.Id, ObjectName, s.DeviceId, s.AccountId, s.LiveMode, s.LocationId, s.Time, s.StateOfChargePercent, s.TargetStateOfChargePercent,
        s.BatteryPowerKw, s.EnergyRemainingKwh, s.BackupReservePercent, s.EnergyFlowDirection, s.RecordReferenceId, s.TimeCreated);
}

/// <summary>The history's query: the usual paging (cursors are state record ids), and a window of <c>time</c>.</summary>
public sealed record DeviceStateListQuery(
    [FromQuery(Name = "limit")] string? Limit,
    [FromQuery(Name = "starting_after")] string? StartingAfter,
    [FromQuery(Name = "ending_before")] string? EndingBefore,
    [FromQuery(Name = "time_from")] string? TimeFrom,
    [FromQuery(Name = "time_to")] string? TimeTo) : IPageQuery;
