using Flatpeak.Devices.Api.Devices;

namespace Flatpeak.Devices.Tests.Unit;

public sealed class CreateDeviceRequestValidatorTests
{
    private static readonly CreateDeviceRequestValidator Validator = new();

    private static readonly CreateDeviceRequest Seed = new(
        "DEV1234567890", "BATTERY_SYSTEM", ["loc_641b90b758fb8e6293716e40"], "Nova Systems", "PICOXN2", "Pico Ultimate",
        new DeviceProperties(
            PowerRatingImportKwh: 14.2,
            CapacityKwh: 123,
            PowerRatingExportKwh: 7,
            PvAzimuth: 0,
            PvTilt: 23,
            PvTerrainShading: false,
            PvForecastsEnabled: false,
            InstallDate: new DateTimeOffset(2022, 3, 22, 11, 12, 21, TimeSpan.Zero)));

    [Fact]
    public void The_seed_request_is_valid() => Assert.True(Validator.Validate(Seed).IsValid);

    [Fact]
    public void Only_the_first_failure_of_a_field_is_reported()
    {
        var result = Validator.Validate(Seed with { ReferenceId = null });

        var failure = Assert.Single(result.Errors);
        Assert.Equal("reference_id_missing", failure.ErrorCode);
    }

    [Fact]
    public void Failures_come_in_field_order()
    {
        var result = Validator.Validate(Seed with { Type = "X", ReferenceId = "", Locations = [] });

        Assert.Equal(["reference_id_invalid", "type_invalid", "locations_invalid"], result.Errors.Select(e => e.ErrorCode));
    }

    [Fact]
    public void Text_with_broken_surrogates_or_control_characters_is_invalid()
    {
        // Built here, not in [InlineData]: the test runner would replace lone surrogates when it serialises theory data.
        foreach (var text in new[] { "a\ud800b", "\udc00", "b\ud800", "\udc00\ud800", "a\u0085b", "a\u007fb" })
        {
            Assert.Equal("reference_id_invalid", Assert.Single(Validator.Validate(Seed with { ReferenceId = text }).Errors).ErrorCode);
        }

        Assert.True(Validator.Validate(Seed with { ReferenceId = "battery \ud83d\udd0b" }).IsValid);
    }

    [Fact]
    public void Each_device_type_of_the_spec_is_accepted()
    {
        foreach (var type in new[] { "EV_CHARGER", "ELECTRIC_VEHICLE", "BATTERY_SYSTEM", "PV_SYSTEM", "OTHER" })
        {
            Assert.True(Validator.Validate(Seed with { Type = type }).IsValid, type);
        }
    }

    [Fact]
    public void A_hundred_locations_are_accepted_and_a_hundred_and_one_are_not()
    {
        var ids = Enumerable.Range(0, 101).Select(i => $"loc_641b90b758fb8e62937{i:x5}").ToList();

        Assert.True(Validator.Validate(Seed with { Locations = ids[..100] }).IsValid);
        Assert.Equal("locations_invalid", Assert.Single(Validator.Validate(Seed with { Locations = ids }).Errors).ErrorCode);
    }
}
