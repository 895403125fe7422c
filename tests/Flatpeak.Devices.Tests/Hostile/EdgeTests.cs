using System.Net;
using System.Text;
using System.Text.Json;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.Hostile;

/// <summary>The edges a hostile client probes: headers, methods, query strings, text and numbers.</summary>
public sealed class EdgeTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Theory]
    [InlineData("application/json; charset=bogus")]
    [InlineData("application/json; charset=iso-8859-1")]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("application/json; charset=\"\"")]
    public async Task A_charset_the_server_does_not_read_is_415_with_the_error_object(string contentType)
    {
        var (_, client) = await SignInAsync();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("{}"));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        using var response = await client.PostAsync("/devices", content);

        await AssertErrorAsync(response, HttpStatusCode.UnsupportedMediaType, "api.device_create", "content_type_invalid");
    }

    [Theory]
    [InlineData("application/json; charset=")]
    [InlineData("application/json; charset=utf-8; charset=utf-16")]
    public async Task An_empty_or_repeated_charset_is_415_too(string contentType)
    {
        var (_, client) = await SignInAsync();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("{}"));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        using var response = await client.PostAsync("/devices", content);

        await AssertErrorAsync(response, HttpStatusCode.UnsupportedMediaType, "api.device_create", "content_type_invalid");
        Assert.True(response.Headers.CacheControl?.NoStore);
    }

    [Theory]
    [InlineData("application/json; charset=latin1")]
    [InlineData("application/json; charset=\"utf-8\"")]
    [InlineData("application/json")]
    public async Task Without_a_valid_token_the_body_is_not_looked_at(string contentType)
    {
        using var anonymous = Api.Client();
        foreach (var body in new[] { "{", "{\"reference_id\":\"S\"", new string('[', 40), "{}" })
        {
            var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            using var response = await anonymous.PostAsync("/devices", content);
            await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "api.device_create", "token_missing");
        }
    }

    [Theory]
    [InlineData("{\"reference_id\":\"S\",\"type\":\"OTH")]
    [InlineData("{\"reference_id\":\"S\"")]
    [InlineData("{\"reference_id\":\"S\",\"properties\":{\"pv_tilt\":1")]
    public async Task A_truncated_body_is_body_invalid_and_says_so(string body)
    {
        var (_, client) = await SignInAsync(liveMode: true);

        using var response = await PostJsonAsync(client, "/devices", body);

        var error = await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_create", "body_invalid", liveMode: true);
        Assert.StartsWith("The request body is not valid JSON", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(response.Headers.CacheControl?.NoStore);
    }

    [Theory]
    [InlineData("{\"manufacturer\":\"N\",\"manufacturer\":\"O\"}", "manufacturer")]
    [InlineData("{\"properties\":{\"pv_tilt\":1,\"pv_tilt\":2}}", "properties.pv_tilt")]
    [InlineData("{\"x\":1,\"x\":2}", "x")]
    public async Task A_property_given_twice_in_a_patch_is_parameter_duplicate(string patch, string param)
    {
        var (_, client) = await SignInAsync();
        var id = (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(await CreateLocationAsync(client)))).GetProperty("id").GetString();

        using var response = await client.PatchAsync($"/devices/{id}", new StringContent(patch, Encoding.UTF8, "application/json"));

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_update", "parameter_duplicate", param);
    }

    [Theory]
    [InlineData("{\"reference_id\":\"\\ud800\"}", "reference_id_invalid", "reference_id")]
    [InlineData("{\"properties\":{\"install_date\":\"\\udc00\"}}", "install_date_invalid", "properties.install_date")]
    [InlineData("{\"locations\":[\"\\ud800\"]}", "locations_invalid", "locations[0]")]
    public async Task Half_a_surrogate_pair_is_the_field_s_error_in_a_patch_as_in_a_create(string patch, string code, string param)
    {
        var (_, client) = await SignInAsync();
        var id = (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(await CreateLocationAsync(client)))).GetProperty("id").GetString();

        using var response = await client.PatchAsync($"/devices/{id}", new StringContent(patch, Encoding.UTF8, "application/json"));

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_update", code, param);
    }

    [Fact]
    public async Task A_property_given_twice_is_named_by_its_full_path_on_create_too()
    {
        var (_, client) = await SignInAsync();

        using var response = await PostJsonAsync(client, "/devices",
            """{"reference_id":"R","type":"OTHER","locations":["loc_000000000000000000000000"],"properties":{"pv_tilt":1,"capacity_kwh":2,"pv_tilt":3}}""");

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_create", "parameter_duplicate", "properties.pv_tilt");
    }

    [Theory]
    [InlineData("/devices?limit=1%00")]
    [InlineData("/devices?limit=%2B5")]
    [InlineData("/devices?limit=05%20")]
    public async Task A_limit_is_digits_only(string path)
    {
        var (_, client) = await SignInAsync();

        using var response = await client.GetAsync(path);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_list", "limit_invalid", "limit");
    }

    [Fact]
    public async Task Health_endpoints_take_no_query_parameters_either()
    {
        using var anonymous = Api.Client();

        using var response = await anonymous.GetAsync("/healthz?x=1");

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.health_live", "parameter_unknown", "x");
    }

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json; charset=UTF-8")]
    [InlineData("application/json; charset=\"utf-8\"")]
    [InlineData("application/json")]
    public async Task Utf8_bodies_are_read(string contentType)
    {
        var (_, client) = await SignInAsync();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("{}"));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        using var response = await client.PostAsync("/locations", content);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task Every_response_says_nosniff_and_no_server_and_what_an_account_sees_is_not_cached()
    {
        var account = await CreateAccountAsync();
        using var anonymous = Api.Client();
        using var login = new HttpRequestMessage(HttpMethod.Get, "/login");
        login.Headers.Authorization = ApiFixture.BasicAuth(account.AccountId, account.TestKey);
        using var loggedIn = await anonymous.SendAsync(login);
        using var badLogin = await anonymous.GetAsync("/login");
        using var client = Api.Client(await Api.LoginAsync(account.AccountId, account.TestKey));
        using var list = await client.GetAsync("/devices");
        using var notFound = await client.GetAsync("/devices/dev_000000000000000000000000");
        using var unauthenticated = await anonymous.GetAsync("/devices");
        using var health = await anonymous.GetAsync("/healthz");
        using var noRoute = await anonymous.GetAsync("/nowhere");

        foreach (var response in new[] { loggedIn, badLogin, list, notFound, unauthenticated, health, noRoute })
        {
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
            Assert.False(response.Headers.Contains("Server"));
            Assert.True(response.Headers.Contains("Request-Id"));
        }

        foreach (var response in new[] { loggedIn, badLogin, list, notFound })
        {
            Assert.True(response.Headers.CacheControl?.NoStore, $"{response.RequestMessage!.RequestUri} is not no-store");
        }

        Assert.False(health.Headers.CacheControl?.NoStore ?? false);
    }

    [Fact]
    public async Task A_method_the_path_does_not_have_is_405_in_the_context_of_the_api()
    {
        var (_, client) = await SignInAsync();

        using var response = await client.PutAsync("/devices", new StringContent("{}", Encoding.UTF8, "application/json"));

        await AssertErrorAsync(response, HttpStatusCode.MethodNotAllowed, "api", "method_not_allowed");
    }

    [Fact]
    public async Task Head_works_wherever_get_does_and_sends_no_body()
    {
        var (_, client) = await SignInAsync();
        var id = (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(await CreateLocationAsync(client)))).GetProperty("id").GetString();

        foreach (var path in new[] { $"/devices/{id}", "/devices", "/locations", "/events", "/healthz" })
        {
            using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"HEAD {path}: {response.StatusCode}");
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        }

        using var missing = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/devices/dev_000000000000000000000000"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Theory]
    [InlineData("/devices?limitt=5", "api.device_list", "parameter_unknown", "limitt")]
    [InlineData("/devices?limit=5&reference_id=a&reference_id=b", "api.device_list", "parameter_duplicate", "reference_id")]
    [InlineData("/devices?limit=5&limit=6", "api.device_list", "parameter_duplicate", "limit")]
    [InlineData("/events?object=dev_000000000000000000000000", "api.event_list", "parameter_unknown", "object")]
    [InlineData("/locations?LIMIT=5", "api.location_list", "parameter_unknown", "LIMIT")]
    [InlineData("/devices/dev_000000000000000000000000?expand=locations", "api.device_get", "parameter_unknown", "expand")]
    public async Task Query_strings_are_as_strict_as_bodies(string path, string context, string code, string param)
    {
        var (_, client) = await SignInAsync();

        using var response = await client.GetAsync(path);

        var error = await AssertErrorAsync(response, HttpStatusCode.BadRequest, context, code, param);
        Assert.Contains(param, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"reference_id\":[[[[[[[[[[[[[[[[[[[[\"x\"]]]]]]]]]]]]]]]]]]]]}")]
    [InlineData("{\"reference_id\":\"R\",\"model_name\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":{\"j\":{\"k\":{\"l\":{\"m\":{\"n\":{\"o\":{\"p\":1}}}}}}}}}}}}}}}}}")]
    public async Task Too_deep_is_body_invalid_whether_the_body_comes_with_a_length_or_in_chunks(string body)
    {
        var (_, client) = await SignInAsync();

        using var framed = await PostJsonAsync(client, "/devices", body);
        using var chunkedRequest = new HttpRequestMessage(HttpMethod.Post, "/devices") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        chunkedRequest.Headers.TransferEncodingChunked = true;
        using var chunked = await client.SendAsync(chunkedRequest);

        await AssertErrorAsync(framed, HttpStatusCode.BadRequest, "api.device_create", "body_invalid");
        await AssertErrorAsync(chunked, HttpStatusCode.BadRequest, "api.device_create", "body_invalid");
    }

    [Theory]
    [InlineData(" ")]
    [InlineData("   \t ")]
    [InlineData("abc\u202E")]
    [InlineData("\u202Aabc")]
    [InlineData("a\u2066b")]
    [InlineData("a\u2069")]
    [InlineData("a\u200Bb")]
    [InlineData("a\u200Db")]
    [InlineData("a\u2028b")]
    [InlineData("a\u2029b")]
    [InlineData("\uFEFFabc")]
    [InlineData("a\u00ADb")]
    [InlineData("a\u0085b")]
    [InlineData("a\u061Cb")]
    [InlineData("\u3164")]
    [InlineData("\u115F")]
    [InlineData("\uFE0F")]
    [InlineData("a\uFE0F")]
    [InlineData("\u2800")]
    [InlineData("a\u034Fb")]
    public async Task A_reference_id_that_is_blank_or_hides_characters_is_refused(string referenceId)
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);
        var reference = JsonSerializer.Serialize(referenceId);

        using var device = await PostJsonAsync(client, "/devices", $$"""{"reference_id":{{reference}},"type":"OTHER","locations":["{{location}}"]}""");
        using var place = await PostJsonAsync(client, "/locations", "{\"reference_id\":" + reference + "}");

        await AssertErrorAsync(device, HttpStatusCode.BadRequest, "api.device_create", "reference_id_invalid", "reference_id");
        await AssertErrorAsync(place, HttpStatusCode.BadRequest, "api.location_create", "reference_id_invalid", "reference_id");
    }

    [Fact]
    public async Task Lengths_are_counted_in_characters_not_utf16_units()
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);
        var emoji255 = string.Concat(Enumerable.Repeat("\U0001F50B", 255));

        var created = await CreateDeviceAsync(client, $$"""{"reference_id":"{{emoji255}}","type":"OTHER","locations":["{{location}}"],"model_name":"{{emoji255}}"}""");
        using var tooLong = await PostJsonAsync(client, "/devices", $$"""{"reference_id":"{{emoji255}}🔋","type":"OTHER","locations":["{{location}}"]}""");

        Assert.Equal(emoji255, created.GetProperty("reference_id").GetString());
        Assert.Equal(emoji255, created.GetProperty("model_name").GetString());
        await AssertErrorAsync(tooLong, HttpStatusCode.BadRequest, "api.device_create", "reference_id_invalid", "reference_id");
    }

    [Fact]
    public async Task Minus_zero_is_zero_and_a_number_that_underflows_is_refused()
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);

        using var created = await PostJsonAsync(client, "/devices", $$$"""{"reference_id":"R","type":"PV_SYSTEM","locations":["{{{location}}}"],"properties":{"pv_azimuth":-0,"pv_tilt":-0.0}}""");
        using var tiny = await PostJsonAsync(client, "/devices", $$$"""{"reference_id":"R","type":"PV_SYSTEM","locations":["{{{location}}}"],"properties":{"pv_tilt":1e-400}}""");
        using var zeroes = await PostJsonAsync(client, "/devices", $$$"""{"reference_id":"R","type":"PV_SYSTEM","locations":["{{{location}}}"],"properties":{"pv_tilt":0e-400,"capacity_kwh":0.000}}""");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var properties = (await ReadJsonAsync(created)).GetProperty("properties");
        Assert.Equal("0", properties.GetProperty("pv_azimuth").GetRawText());
        Assert.Equal("0", properties.GetProperty("pv_tilt").GetRawText());
        await AssertErrorAsync(tiny, HttpStatusCode.BadRequest, "api.device_create", "pv_tilt_invalid", "properties.pv_tilt");
        Assert.Equal(HttpStatusCode.Created, zeroes.StatusCode);
    }

    [Theory]
    [InlineData("9999-12-31T23:59:59-01:00")]
    [InlineData("10000-01-01T00:00:00Z")]
    [InlineData("1899-12-31T23:59:59Z")]
    public async Task A_patch_to_an_install_date_outside_the_years_1900_to_9999_is_refused(string installDate)
    {
        var (_, client) = await SignInAsync();
        var id = (await CreateDeviceAsync(client, Devices.CreateDeviceTests.SeedBody(await CreateLocationAsync(client)))).GetProperty("id").GetString();

        using var response = await client.SendAsync(Patch($"/devices/{id}", $$$"""{"properties":{"install_date":"{{{installDate}}}"}}"""));

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_update", "install_date_invalid", "properties.install_date");
    }

    [Fact]
    public async Task A_null_type_is_type_missing_as_the_null_of_any_required_field()
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);

        using var response = await PostJsonAsync(client, "/devices", $$$"""{"reference_id":"R","type":null,"locations":["{{{location}}}"]}""");

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_create", "type_missing", "type");
        await AssertNoDevicesAsync();
    }

    [Theory]
    [InlineData("0001-01-01T00:00:00Z", false)]
    [InlineData("1899-12-31T23:59:59Z", false)]
    [InlineData("1900-01-01T00:00:00Z", true)]
    [InlineData("9999-12-31T23:59:59.999999Z", true)]
    [InlineData("9999-12-31T23:59:59-01:00", false)]
    [InlineData("10000-01-01T00:00:00Z", false)]
    [InlineData("+10000-01-01T00:00:00Z", false)]
    [InlineData("9999-12-31T24:00:00Z", false)]
    [InlineData("9999-12-31T23:59:59.9999999Z", false)]
    [InlineData("9999-12-31T23:59:59.999999-00:01", false)]
    public async Task Install_dates_outside_the_years_1900_to_9999_are_refused(string installDate, bool accepted)
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);

        using var response = await PostJsonAsync(client, "/devices", $$$"""{"reference_id":"R","type":"OTHER","locations":["{{{location}}}"],"properties":{"install_date":"{{{installDate}}}"}}""");

        if (accepted)
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var stored = (await ReadJsonAsync(response)).GetProperty("properties").GetProperty("install_date").GetString();
            Assert.Equal(DateTimeOffset.Parse(installDate, System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.Parse(stored!, System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_create", "install_date_invalid", "properties.install_date");
        }
    }
}
