using Flatpeak.Devices.Api.Common;
using FluentValidation;
using FluentValidation.Results;

namespace Flatpeak.Devices.Api.Devices;

public sealed class CreateDeviceRequestValidator : AbstractValidator<CreateDeviceRequest>
{
    public const int MaxLocations = 100;

    public CreateDeviceRequestValidator()
    {
        RuleLevelCascadeMode = CascadeMode.Stop;
        RuleFor(r => r.ReferenceId).RequiredText("reference_id");
        RuleFor(r => r.Type)
            .NotNull().WithErrorCode("type_missing").WithMessage("type is required.")
            .Must(DeviceTypes.IsKnown).WithErrorCode("type_invalid")
            .WithMessage($"type must be one of {string.Join(", ", DeviceTypes.All)}.");
        RuleFor(r => r.Locations)
            .NotNull().WithErrorCode("locations_missing").WithMessage("locations is required: the ids of the locations where the device may be.")
            .Must(l => l!.Count is >= 1 and <= MaxLocations).WithErrorCode("locations_invalid")
            .WithMessage($"locations must hold 1 to {MaxLocations} location ids.")
            .Custom(CheckEachLocationId);
        RuleFor(r => r.Manufacturer).OptionalText("manufacturer");
        RuleFor(r => r.ModelCode).OptionalText("model_code");
        RuleFor(r => r.ModelName).OptionalText("model_name");
        RuleFor(r => r.Properties).SetValidator(new DevicePropertiesValidator()!).When(r => r.Properties is not null);
    }

    private static void CheckEachLocationId(IReadOnlyList<string?>? locations, ValidationContext<CreateDeviceRequest> context)
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

public sealed class DevicePropertiesValidator : AbstractValidator<DeviceProperties>
{
    public DevicePropertiesValidator()
    {
        RuleLevelCascadeMode = CascadeMode.Stop;
        RuleFor(p => p.PowerRatingImportKwh).NotNegative("properties.power_rating_import_kwh");
        RuleFor(p => p.CapacityKwh).NotNegative("properties.capacity_kwh");
        RuleFor(p => p.PowerRatingExportKwh).NotNegative("properties.power_rating_export_kwh");
        RuleFor(p => p.PvAzimuth).Between("properties.pv_azimuth", -180, 180);
        RuleFor(p => p.PvTilt).Between("properties.pv_tilt", 0, 90);
    }
}
