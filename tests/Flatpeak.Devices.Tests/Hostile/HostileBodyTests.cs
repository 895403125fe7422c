using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.Hostile;

/// <summary>A clumsy client and an attacker at once: every bad body gets the error object with the right status, never a 500.</summary>
public sealed class HostileBodyTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    private const string Context = "api.device_create";

    private static readonly Dictionary<string, string> FieldTypes = new()
    {
        ["reference_id"] = "string",
        ["type"] = "string",
        ["locations"] = "array",
        ["manufacturer"] = "string",
        ["model_code"] = "string",
        ["model_name"] = "string",
        ["properties"] = "object",
        ["properties.power_rating_import_kwh"] = "number",
        ["properties.capacity_kwh"] = "number",
        ["properties.power_rating_export_kwh"] = "number",
        ["properties.pv_azimuth"] = "number",
        ["properties.pv_tilt"] = "number",
        ["properties.pv_terrain_shading"] = "boolean",
        ["properties.pv_forecasts_enabled"] = "boolean",
        ["properties.install_date"] = "string",
    };

    private static readonly Dictionary<string, string> ValuesOfType = new()
    {
        ["string"] = "\"text\"",
        ["number"] = "1",
        ["boolean"] = "true",
        ["array"] = "[1]",
        ["object"] = "{\"a\":1}",
    };

    public static TheoryData<string, string> WrongTypes()
    {
        var data = new TheoryData<string, string>();
        foreach (var (field, type) in FieldTypes)
        {
            foreach (var (otherType, value) in ValuesOfType)
            {
                if (otherType != type)
                {
                    data.Add(field, value);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(WrongTypes))]
    public async Task Every_wrong_json_type_for_every_field_answers_400_naming_the_field(string field, string value)
    {
        var (_, client) = await SignInAsync();
        var body = JsonNode.Parse(CreateDeviceTests.SeedBody("loc_641b90b758fb8e6293716e40"))!.AsObject();
        var parent = field.StartsWith("properties.", StringComparison.Ordinal) ? body["properties"]!.AsObject() : body;
        parent[field.Split('.')[^1]] = JsonNode.Parse(value);

        using var response = await PostJsonAsync(client, "/devices", body.ToJsonString());

        var code = field.Split('.')[^1] + "_invalid";
        // Inside an array of the right kind, the wrong value is its first element, named with its index.
        var param = FieldTypes[field] == "array" && value == "[1]" ? field + "[0]" : field;

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, Context, code, param);
        await AssertNoDevicesAsync();
    }

    [Theory]
    [InlineData("1e400")]
    [InlineData("-1e400")]
    [InlineData("123456789012345678901234567890e300")]
    public async Task A_number_too_large_for_a_double_answers_400(string number)
    {
        var (_, client) = await SignInAsync();
        var body = CreateDeviceTests.SeedBody("loc_641b90b758fb8e6293716e40").Replace("\"capacity_kwh\": 123", $"\"capacity_kwh\": {number}", StringComparison.Ordinal);

        using var response = await PostJsonAsync(client, "/devices", body);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, Context, "capacity_kwh_invalid", "properties.capacity_kwh");
    }

    [Fact]
    public async Task Duplicate_property_names_answer_400()
    {
        var (_, client) = await SignInAsync();
        var body = CreateDeviceTests.SeedBody("loc_641b90b758fb8e6293716e40").Replace("\"type\": \"BATTERY_SYSTEM\",", "\"type\": \"BATTERY_SYSTEM\", \"type\": \"EV_CHARGER\",", StringComparison.Ordinal);

        using var response = await PostJsonAsync(client, "/devices", body);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, Context, "parameter_duplicate", "type");
    }

    [Theory]
    [InlineData("{DEEP}", "body_invalid", null)]
    [InlineData("{\"reference_id\":\"R\",\"x\":{DEEP}}", "body_invalid", null)]
    [InlineData("{\"reference_id\":{DEEP}}", "body_invalid", null)]
    [InlineData("{\"properties\":{\"pv_tilt\":{DEEP}}}", "body_invalid", null)]
    public async Task Nesting_far_too_deep_answers_400_without_reading_it_all(string template, string code, string? param)
    {
        var (_, client) = await SignInAsync();
        var deep = new string('[', 20_000) + new string(']', 20_000);

        using var response = await PostJsonAsync(client, "/devices", template.Replace("{DEEP}", deep, StringComparison.Ordinal));

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, Context, code, param);
    }

    [Fact]
    public async Task The_depth_limit_is_named_in_the_message()
    {
        var (_, client) = await SignInAsync();

        using var response = await PostJsonAsync(client, "/devices", "{\"reference_id\":" + new string('[', 64) + new string(']', 64) + "}");

        var error = await AssertErrorAsync(response, HttpStatusCode.BadRequest, Context, "body_invalid");
        Assert.Equal("The request body is nested deeper than 16 levels.", error.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("\"DEV\\ud800\"")]
    [InlineData("\"\\udc00DEV\"")]
    [InlineData("\"DEV\\u0000\"")]
    public async Task Escaped_lone_surrogates_and_nul_answer_400(string referenceId)
    {
        var (_, client) = await SignInAsync();
        var body = CreateDeviceTests.SeedBody("loc_641b90b758fb8e6293716e40").Replace("\"DEV1234567890\"", referenceId, StringComparison.Ordinal);

        using var response = await PostJsonAsync(client, "/devices", body);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, Context, "reference_id_invalid", "reference_id");
    }

    [Fact]
    public async Task Invalid_utf8_answers_400()
    {
        var (_, client) = await SignInAsync();
        var bytes = Encoding.UTF8.GetBytes(CreateDeviceTests.SeedBody("loc_641b90b758fb8e6293716e40")).ToList();
        var at = bytes.IndexOf((byte)'D');
        bytes.InsertRange(at, [0xC3, 0x28, 0xFF]);
        using var content = new ByteArrayContent([.. bytes]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await client.PostAsync("/devices", content);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, Context, "reference_id_invalid", "reference_id");
        await AssertNoDevicesAsync();
    }

    [Fact]
    public async Task A_body_past_the_size_limit_answers_413()
    {
        var (_, client) = await SignInAsync();
        var body = CreateDeviceTests.SeedBody("loc_641b90b758fb8e6293716e40").Replace("\"Nova Systems\"", $"\"{new string('n', 70_000)}\"", StringComparison.Ordinal);

        using var response = await PostJsonAsync(client, "/devices", body);

        await AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, Context, "body_too_large");
    }

    [Fact]
    public async Task A_chunked_body_past_the_size_limit_answers_413()
    {
        var (_, client) = await SignInAsync();
        var body = CreateDeviceTests.SeedBody("loc_641b90b758fb8e6293716e40").Replace("\"Nova Systems\"", $"\"{new string('n', 70_000)}\"", StringComparison.Ordinal);
        using var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/devices") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await client.SendAsync(request);

        await AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, Context, "body_too_large");
    }

    [Theory]
    [InlineData(0, HttpStatusCode.Created)]
    [InlineData(1, HttpStatusCode.RequestEntityTooLarge)]
    public async Task A_chunked_body_is_read_whole_up_to_the_size_limit(int pastLimit, HttpStatusCode expected)
    {
        // Streamed in small chunks, so that the buffer the body is read into grows several times before the limit.
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);
        var seed = CreateDeviceTests.SeedBody(location);
        var body = Encoding.UTF8.GetBytes(seed.TrimEnd('}') + new string(' ', HttpLimits.MaxBytes + pastLimit - Encoding.UTF8.GetByteCount(seed)) + "}");
        Assert.Equal(HttpLimits.MaxBytes + pastLimit, body.Length);
        using var content = new StreamContent(new MemoryStream(body), bufferSize: 1000);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/devices") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await client.SendAsync(request);

        if (expected == HttpStatusCode.Created)
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var device = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("DEV1234567890", device.GetProperty("reference_id").GetString());
            Assert.Equal(location, device.GetProperty("locations")[0].GetString());
        }
        else
        {
            await AssertErrorAsync(response, expected, Context, "body_too_large");
            await AssertNoDevicesAsync();
        }
    }

    [Theory]
    [InlineData("Bearer", "token_missing")]
    [InlineData("Bearer  ", "token_missing")]
    [InlineData("Basic", "token_missing")]
    [InlineData("bearer", "token_missing")]
    [InlineData("Token abc", "token_missing")]
    [InlineData("Bearer abc def ghi", "token_invalid")]
    [InlineData("Bearer eyJhbGciOiJIUzI1NiJ9.e30", "token_invalid")]
    [InlineData("Bearer \u00e9\u00e9", "token_invalid")]
    public async Task A_malformed_authorization_header_answers_401(string header, string code)
    {
        using var client = Api.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/devices")
        {
            Content = new StringContent(CreateDeviceTests.SeedBody("loc_641b90b758fb8e6293716e40"), Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", header);

        using var response = await client.SendAsync(request);

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, Context, code);
        Assert.Equal(code == "token_missing" ? "Bearer" : "Bearer error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());
    }
}
