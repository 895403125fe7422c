using System.Net;
using System.Text.Json.Nodes;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.Devices;

/// <summary>Each rule of API.md's POST /devices table, through HTTP, with every field of the error object.</summary>
public sealed class CreateDeviceValidationTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    private const string Context = "api.device_create";

    /// <summary>A change to the seed body (path, new JSON value or null to remove), the code and the param it must produce.</summary>
    public static TheoryData<string, string?, string, string> Violations => new()
    {
        { "reference_id", null, "reference_id_missing", "reference_id" },
        { "reference_id", "null", "reference_id_missing", "reference_id" },
        { "reference_id", "\"\"", "reference_id_invalid", "reference_id" },
        { "reference_id", $"\"{new string('x', 256)}\"", "reference_id_invalid", "reference_id" },
        { "reference_id", "\"bad\\u0000id\"", "reference_id_invalid", "reference_id" },
        { "reference_id", "\"tab\\tinside\"", "reference_id_invalid", "reference_id" },
        { "type", null, "type_missing", "type" },
        { "type", "\"battery_system\"", "type_invalid", "type" },
        { "type", "\"TOASTER\"", "type_invalid", "type" },
        { "locations", null, "locations_missing", "locations" },
        { "locations", "[]", "locations_invalid", "locations" },
        { "locations", "[\"nope\"]", "locations_invalid", "locations[0]" },
        { "locations", "[\"dev_641b90b758fb8e6293716e40\"]", "locations_invalid", "locations[0]" },
        { "locations", "[\"loc_641B90B758FB8E6293716E40\"]", "locations_invalid", "locations[0]" },
        { "locations", "[\"loc_641b90b758fb8e6293716e40\", null]", "locations_invalid", "locations[1]" },
        { "locations", "[\"loc_641b90b758fb8e6293716e40\", \"loc_641b90b758fb8e6293716e40\"]", "locations_invalid", "locations[1]" },
        { "locations", "[" + string.Join(",", Enumerable.Range(0, 101).Select(i => $"\"loc_641b90b758fb8e62937{i:x5}\"")) + "]", "locations_invalid", "locations" },
        { "manufacturer", "\"\"", "manufacturer_invalid", "manufacturer" },
        { "manufacturer", $"\"{new string('m', 256)}\"", "manufacturer_invalid", "manufacturer" },
        { "model_code", "\"a\\u0007b\"", "model_code_invalid", "model_code" },
        { "model_name", $"\"{new string('n', 256)}\"", "model_name_invalid", "model_name" },
        { "properties.power_rating_import_kwh", "-0.1", "power_rating_import_kwh_invalid", "properties.power_rating_import_kwh" },
        { "properties.capacity_kwh", "-1", "capacity_kwh_invalid", "properties.capacity_kwh" },
        { "properties.power_rating_export_kwh", "-7", "power_rating_export_kwh_invalid", "properties.power_rating_export_kwh" },
        { "properties.pv_azimuth", "180.5", "pv_azimuth_invalid", "properties.pv_azimuth" },
        { "properties.pv_azimuth", "-181", "pv_azimuth_invalid", "properties.pv_azimuth" },
        { "properties.pv_tilt", "-1", "pv_tilt_invalid", "properties.pv_tilt" },
        { "properties.pv_tilt", "90.01", "pv_tilt_invalid", "properties.pv_tilt" },
        // Wrong JSON types are refused by the strict deserializer, with the same code style and param.
        { "reference_id", "12", "reference_id_invalid", "reference_id" },
        { "type", "1", "type_invalid", "type" },
        { "locations", "\"loc_641b90b758fb8e6293716e40\"", "locations_invalid", "locations" },
        { "locations", "[1]", "locations_invalid", "locations[0]" },
        { "properties", "[]", "properties_invalid", "properties" },
        { "properties.pv_tilt", "\"23\"", "pv_tilt_invalid", "properties.pv_tilt" },
        { "properties.pv_terrain_shading", "\"false\"", "pv_terrain_shading_invalid", "properties.pv_terrain_shading" },
        { "properties.pv_forecasts_enabled", "0", "pv_forecasts_enabled_invalid", "properties.pv_forecasts_enabled" },
        { "properties.install_date", "\"2022-03-22\"", "install_date_invalid", "properties.install_date" },
        { "properties.install_date", "\"2022-03-22T11:12:21\"", "install_date_invalid", "properties.install_date" },
        { "properties.install_date", "\"yesterday\"", "install_date_invalid", "properties.install_date" },
        { "properties.install_date", "20220322", "install_date_invalid", "properties.install_date" },
        // Unknown and server-owned fields.
        { "id", "\"dev_63a6087272941ef077a8fd3e\"", "parameter_unknown", "id" },
        { "account_id", "\"acc_661677911f2197045e6cf1b1\"", "parameter_unknown", "account_id" },
        { "live_mode", "true", "parameter_unknown", "live_mode" },
        { "time_created", "\"2022-01-24T14:15:22Z\"", "parameter_unknown", "time_created" },
        { "referenceId", "\"x\"", "parameter_unknown", "referenceId" },
        { "properties.colour", "\"red\"", "parameter_unknown", "properties.colour" },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public async Task A_violation_answers_400_with_its_code_and_param_and_stores_nothing(string path, string? value, string code, string param)
    {
        var (_, client) = await SignInAsync();
        var body = Change(JsonNode.Parse(CreateDeviceTests.SeedBody(await CreateLocationAsync(client)))!.AsObject(), path, value);

        using var response = await PostJsonAsync(client, "/devices", body);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, Context, code, param);
        await AssertNoDevicesAsync();
    }

    [Theory]
    [InlineData("properties.pv_azimuth", "-180")]
    [InlineData("properties.pv_azimuth", "180")]
    [InlineData("properties.pv_tilt", "0")]
    [InlineData("properties.pv_tilt", "90")]
    [InlineData("properties.capacity_kwh", "0")]
    [InlineData("properties.install_date", "\"2022-03-22T13:12:21.5+02:00\"")]
    [InlineData("reference_id", "\"Ünïcødé ⚡ 🔋\"")]
    [InlineData("properties", "null")]
    [InlineData("manufacturer", "null")]
    public async Task Values_at_the_limits_are_accepted(string path, string value)
    {
        var (_, client) = await SignInAsync();
        var body = Change(JsonNode.Parse(CreateDeviceTests.SeedBody(await CreateLocationAsync(client)))!.AsObject(), path, value);

        using var response = await PostJsonAsync(client, "/devices", body);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task Install_date_with_an_offset_comes_back_in_utc()
    {
        var (_, client) = await SignInAsync();
        var body = Change(JsonNode.Parse(CreateDeviceTests.SeedBody(await CreateLocationAsync(client)))!.AsObject(),
            "properties.install_date", "\"2022-03-22T13:12:21.5+02:00\"");

        using var response = await PostJsonAsync(client, "/devices", body);

        var device = await ReadJsonAsync(response);
        Assert.Equal("2022-03-22T11:12:21.5Z", device.GetProperty("properties").GetProperty("install_date").GetString());
    }

    [Theory]
    [InlineData("", "body_invalid")]
    [InlineData("{", "body_invalid")]
    [InlineData("{\"reference_id\": \"DEV1\",", "body_invalid")]
    [InlineData("not json", "body_invalid")]
    [InlineData("[]", "body_invalid")]
    [InlineData("\"a string\"", "body_invalid")]
    [InlineData("42", "body_invalid")]
    [InlineData("null", "body_invalid")]
    public async Task A_body_that_is_not_a_json_object_answers_400(string body, string code)
    {
        var (_, client) = await SignInAsync();

        using var response = await PostJsonAsync(client, "/devices", body);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, Context, code);
        await AssertNoDevicesAsync();
    }

    [Fact]
    public async Task A_body_that_is_not_json_content_answers_415()
    {
        var (_, client) = await SignInAsync();

        using var response = await client.PostAsync("/devices", new StringContent(CreateDeviceTests.SeedBody("loc_641b90b758fb8e6293716e40"), System.Text.Encoding.UTF8, "text/plain"));

        await AssertErrorAsync(response, HttpStatusCode.UnsupportedMediaType, Context, "content_type_invalid");
    }

    private static string Change(JsonObject body, string path, string? value)
    {
        var segments = path.Split('.');
        var parent = body;
        foreach (var segment in segments[..^1])
        {
            parent = parent[segment]!.AsObject();
        }

        if (value is null)
        {
            parent.Remove(segments[^1]);
        }
        else
        {
            parent[segments[^1]] = JsonNode.Parse(value);
        }

        return body.ToJsonString();
    }
}
