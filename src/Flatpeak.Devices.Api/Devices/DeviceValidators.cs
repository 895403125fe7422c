using Flatpeak.Devices.Api.Common;
using FluentValidation;
using FluentValidation.Results;

namespace Flatpeak.Devices.Api.Devices;

/// <summary>The rules of a device: for a create, and for a patch merged into the stored device.</summary>
public sealed class CreateDeviceRequestValidator : AbstractValidator<CreateDeviceRequest>
{
    public CreateDeviceRequestValidator()
    {
        RuleLevelCascadeMode = CascadeMode.Stop;
        RuleFor(r => r.ReferenceId).RequiredIdentifier("reference_id");
        RuleFor(r => r.Type).NotNull().WithErrorCode("type_missing").WithMessage("type is required.").DeviceType();
        RuleFor(r => r.Locations)
            .NotNull().WithErrorCode("locations_missing").WithMessage("locations is required: the ids of the locations where the device may be.")
            .LocationIds();
        RuleFor(r => r.Manufacturer).OptionalText("manufacturer");
        RuleFor(r => r.ModelCode).OptionalText("model_code");
        RuleFor(r => r.ModelName).OptionalText("model_name");
        RuleFor(r => r.Properties).SetValidator(new DevicePropertiesValidator()!).When(r => r.Properties is not null);
    }
}

public sealed class DevicePropertiesValidator : AbstractValidator<DeviceProperties>
{
    public DevicePropertiesValidator()
    {
        RuleLevelCascadeMode = CascadeMode.Stop;
        RuleFor(p => p.PowerRatingImportKwh).InRange("properties.power_rating_import_kwh", DeviceLimits.PowerRatingImportKwh);
        RuleFor(p => p.CapacityKwh).InRange("properties.capacity_kwh", DeviceLimits.CapacityKwh);
        RuleFor(p => p.PowerRatingExportKwh).InRange("properties.power_rating_export_kwh", DeviceLimits.PowerRatingExportKwh);
        RuleFor(p => p.PvAzimuth).InRange("properties.pv_azimuth", DeviceLimits.PvAzimuth);
        RuleFor(p => p.PvTilt).InRange("properties.pv_tilt", DeviceLimits.PvTilt);
        RuleFor(p => p.InstallDate)
            .Must(d => d is null || (d >= DeviceLimits.EarliestInstallDate && d <= DeviceLimits.LatestInstallDate))
            .WithErrorCode("install_date_invalid")
            .WithMessage($"properties.install_date must be in the years {DeviceLimits.EarliestInstallDate.Year} to {DeviceLimits.LatestInstallDate.Year}.");
    }
}

public sealed class DeviceListQueryValidator : AbstractValidator<DeviceListQuery>
{
    public DeviceListQueryValidator()
    {
        this.AddPagingRules(ObjectIds.Device);
        RuleFor(q => q.ReferenceId).OptionalIdentifier("reference_id").OverridePropertyName("reference_id");
        RuleFor(q => q.LocationId).OptionalObjectId("location_id", ObjectIds.Location, "location").OverridePropertyName("location_id");
    }
}

internal static class DeviceRules
{
    public static IRuleBuilderOptions<T, string?> DeviceType<T>(this IRuleBuilderOptions<T, string?> rule) =>
        rule.Must(DeviceTypes.IsKnown).WithErrorCode("type_invalid").WithMessage($"type must be one of {string.Join(", ", DeviceTypes.All)}.");

    /// <summary>1 to 100 distinct location ids; a bad one is named by its index.</summary>
    public static IRuleBuilderOptionsConditions<T, IReadOnlyList<string?>?> LocationIds<T>(this IRuleBuilderOptions<T, IReadOnlyList<string?>?> rule) =>
        rule.Must(l => l!.Count is >= 1 and <= DeviceLimits.MaxLocations).WithErrorCode("locations_invalid")
            .WithMessage($"locations must hold 1 to {DeviceLimits.MaxLocations} location ids.")
            .Custom(CheckEachLocationId);

    private static void CheckEachLocationId<T>(IReadOnlyList<string?>? locations, ValidationContext<T> context)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < locations!.Count; i++)
        {
            var id = locations[i];
            var message =
                !ObjectIds.IsValid(id, ObjectIds.Location) ? $"locations[{i}] is not a location id ('loc_' and 24 lowercase hex digits)."
                : !seen.Add(id!) ? $"locations[{i}] repeats a location already listed."
                : null;
            if (message is not null)
            {
                context.AddFailure(new ValidationFailure($"locations[{i}]", message) { ErrorCode = "locations_invalid" });
                return;
            }
        }
    }
}
