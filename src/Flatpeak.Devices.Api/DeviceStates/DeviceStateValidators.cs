using Flatpeak.Devices.Api.Common;
using FluentValidation;
using Microsoft.Extensions.Options;

namespace Flatpeak.Devices.Api.DeviceStates;

public sealed class SubmitDeviceStateRequestValidator : AbstractValidator<SubmitDeviceStateRequest>
{
    public SubmitDeviceStateRequestValidator(TimeProvider time, IOptions<DeviceStateOptions> options)
    {
        RuleLevelCascadeMode = CascadeMode.Stop;
        var retention = TimeSpan.FromDays(options.Value.RetentionDays);
        RuleFor(r => r.Time)
            .NotNull().WithErrorCode("time_missing").WithMessage("time is required: when the measurement was taken (RFC 3339).")
            .Must(t => t!.Value >= time.GetUtcNow() - retention && t.Value <= time.GetUtcNow() + DeviceStateLimits.MaxAhead)
            .WithErrorCode("time_invalid")
            .WithMessage($"time must be within the last {options.Value.RetentionDays} days (the retention) and at most {DeviceStateLimits.MaxAhead.TotalMinutes} minutes ahead.");
        RuleFor(r => r.StateOfChargePercent)
            .NotNull().WithErrorCode("state_of_charge_percent_missing").WithMessage("state_of_charge_percent is required.")
            .InRange("state_of_charge_percent", DeviceStateLimits.Percent);
        RuleFor(r => r.TargetStateOfChargePercent)
            .NotNull().WithErrorCode("target_state_of_charge_percent_missing").WithMessage("target_state_of_charge_percent is required.")
            .InRange("target_state_of_charge_percent", DeviceStateLimits.Percent);
        RuleFor(r => r.EnergyRemainingKwh).InRange("energy_remaining_kwh", DeviceStateLimits.EnergyRemainingKwh);
        RuleFor(r => r.BackupReservePercent).InRange("backup_reserve_percent", DeviceStateLimits.Percent);
        RuleFor(r => r.EnergyFlowDirection)
            .Must(d => d is null || DeviceStateLimits.EnergyFlowDirections.Contains(d, StringComparer.Ordinal))
            .WithErrorCode("energy_flow_direction_invalid")
            .WithMessage($"energy_flow_direction must be one of {string.Join(", ", DeviceStateLimits.EnergyFlowDirections)}.");
        RuleFor(r => r.RecordReferenceId).OptionalIdentifier("record_reference_id");
        RuleFor(r => r.LocationId).OptionalObjectId("location_id", ObjectIds.Location, "location");
    }
}

public sealed class DeviceStateListQueryValidator : AbstractValidator<DeviceStateListQuery>
{
    public DeviceStateListQueryValidator()
    {
        this.AddPagingRules(ObjectIds.DeviceState);
        RuleFor(q => q.TimeFrom).Must(t => t is null || Common.Json.UtcTimestampConverter.TryParse(t, out _)).WithErrorCode("time_from_invalid")
            .WithMessage("time_from must be an RFC 3339 date-time.").OverridePropertyName("time_from");
        RuleFor(q => q.TimeTo).Must(t => t is null || Common.Json.UtcTimestampConverter.TryParse(t, out _)).WithErrorCode("time_to_invalid")
            .WithMessage("time_to must be an RFC 3339 date-time.").OverridePropertyName("time_to");
    }
}
