using System.Net;
using System.Text.Json;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.Devices;

/// <summary>GET, PATCH and DELETE of /devices/{id}.</summary>
public sealed class DeviceResourceTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task Get_returns_the_device_as_created()
    {
        var (_, client) = await SignInAsync();
        var created = await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(await CreateLocationAsync(client)));

        using var response = await client.GetAsync($"/devices/{created.GetProperty("id").GetString()}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(JsonElement.DeepEquals(created, await ReadJsonAsync(response)));
    }

    [Fact]
    public async Task A_device_of_another_account_or_mode_is_404_exactly_like_one_that_never_existed()
    {
        var (acme, acmeTest) = await SignInAsync(name: "Acme");
        var (_, globex) = await SignInAsync(name: "Globex");
        using var acmeLive = Api.Client(await Api.LoginAsync(acme.AccountId, acme.LiveKey));
        var id = (await CreateDeviceAsync(acmeTest, CreateDeviceTests.SeedBody(await CreateLocationAsync(acmeTest)))).GetProperty("id").GetString()!;
        var patch = """{"model_name":"stolen"}""";

        foreach (var (client, live) in new[] { (globex, false), (acmeLive, true) })
        {
            using var get = await client.GetAsync($"/devices/{id}");
            using var update = await client.PatchAsync($"/devices/{id}", Json(patch));
            using var delete = await client.DeleteAsync($"/devices/{id}");
            using var never = await client.GetAsync("/devices/dev_000000000000000000000000");
            var errors = new[]
            {
                await AssertErrorAsync(get, HttpStatusCode.NotFound, "api.device_get", "device_not_found", "id", live),
                await AssertErrorAsync(update, HttpStatusCode.NotFound, "api.device_update", "device_not_found", "id", live),
                await AssertErrorAsync(delete, HttpStatusCode.NotFound, "api.device_delete", "device_not_found", "id", live),
            };
            Assert.All(errors, e => Assert.Equal($"No such device: '{id}'", e.GetProperty("message").GetString()));
            await AssertErrorAsync(never, HttpStatusCode.NotFound, "api.device_get", "device_not_found", "id", live);
        }

        using var still = await acmeTest.GetAsync($"/devices/{id}");
        Assert.Equal("Pico Ultimate", (await ReadJsonAsync(still)).GetProperty("model_name").GetString());
    }

    [Fact]
    public async Task Patch_changes_only_the_fields_sent_and_null_clears_an_optional_field()
    {
        var (_, client) = await SignInAsync();
        var home = await CreateLocationAsync(client);
        var office = await CreateLocationAsync(client);
        var created = await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(home));
        var id = created.GetProperty("id").GetString();

        using var response = await client.PatchAsync($"/devices/{id}", Json($$"""
            {"model_name": "Pico Max", "manufacturer": null, "locations": ["{{office}}", "{{home}}"],
             "properties": {"pv_tilt": 30, "install_date": null} }
            """));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var updated = await ReadJsonAsync(response);
        Assert.Equal("Pico Max", updated.GetProperty("model_name").GetString());
        Assert.Equal(JsonValueKind.Null, updated.GetProperty("manufacturer").ValueKind);
        Assert.Equal([office, home], updated.GetProperty("locations").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal(30, updated.GetProperty("properties").GetProperty("pv_tilt").GetDouble());
        Assert.Equal(JsonValueKind.Null, updated.GetProperty("properties").GetProperty("install_date").ValueKind);
        // Untouched fields are as created.
        foreach (var field in new[] { "id", "object", "live_mode", "reference_id", "type", "model_code", "time_created", "account_id", "last_seen" })
        {
            Assert.True(JsonElement.DeepEquals(created.GetProperty(field), updated.GetProperty(field)), field);
        }

        foreach (var field in new[] { "power_rating_import_kwh", "capacity_kwh", "power_rating_export_kwh", "pv_azimuth", "pv_terrain_shading", "pv_forecasts_enabled" })
        {
            Assert.True(JsonElement.DeepEquals(created.GetProperty("properties").GetProperty(field), updated.GetProperty("properties").GetProperty(field)), field);
        }

        using var fetched = await client.GetAsync($"/devices/{id}");
        Assert.True(JsonElement.DeepEquals(updated, await ReadJsonAsync(fetched)));
    }

    [Fact]
    public async Task Patch_with_properties_null_clears_them_all()
    {
        var (_, client) = await SignInAsync();
        var id = (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(await CreateLocationAsync(client)))).GetProperty("id").GetString();

        using var response = await client.PatchAsync($"/devices/{id}", Json("""{"properties": null}"""));

        Assert.All((await ReadJsonAsync(response)).GetProperty("properties").EnumerateObject(), p => Assert.Equal(JsonValueKind.Null, p.Value.ValueKind));
    }

    [Theory]
    [InlineData("""{"reference_id": null}""", "reference_id_invalid", "reference_id")]
    [InlineData("""{"reference_id": ""}""", "reference_id_invalid", "reference_id")]
    [InlineData("""{"type": null}""", "type_invalid", "type")]
    [InlineData("""{"type": "KETTLE"}""", "type_invalid", "type")]
    [InlineData("""{"locations": null}""", "locations_invalid", "locations")]
    [InlineData("""{"locations": []}""", "locations_invalid", "locations")]
    [InlineData("""{"locations": ["x"]}""", "locations_invalid", "locations[0]")]
    [InlineData("""{"manufacturer": ""}""", "manufacturer_invalid", "manufacturer")]
    [InlineData("""{"properties": {"pv_tilt": 91}}""", "pv_tilt_invalid", "properties.pv_tilt")]
    [InlineData("""{"properties": {"pv_tilt": "steep"}}""", "pv_tilt_invalid", "properties.pv_tilt")]
    [InlineData("""{"id": "dev_000000000000000000000000"}""", "parameter_unknown", "id")]
    [InlineData("""{"last_seen": null}""", "parameter_unknown", "last_seen")]
    [InlineData("""{"locations": ["loc_000000000000000000000000"]}""", "location_not_found", "locations[0]")]
    public async Task Patch_validates_like_create_and_changes_nothing_when_refused(string body, string code, string param)
    {
        var (_, client) = await SignInAsync();
        var created = await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(await CreateLocationAsync(client)));
        var id = created.GetProperty("id").GetString();

        using var response = await client.PatchAsync($"/devices/{id}", Json(body));

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_update", code, param);
        using var fetched = await client.GetAsync($"/devices/{id}");
        Assert.True(JsonElement.DeepEquals(created, await ReadJsonAsync(fetched)));
    }

    [Fact]
    public async Task Patch_cannot_point_a_device_at_another_accounts_location()
    {
        var (_, acme) = await SignInAsync(name: "Acme");
        var (_, globex) = await SignInAsync(name: "Globex");
        var id = (await CreateDeviceAsync(acme, CreateDeviceTests.SeedBody(await CreateLocationAsync(acme)))).GetProperty("id").GetString();
        var globexLocation = await CreateLocationAsync(globex);

        using var response = await acme.PatchAsync($"/devices/{id}", Json($$"""{"locations": ["{{globexLocation}}"]}"""));

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_update", "location_not_found", "locations[0]");
    }

    [Fact]
    public async Task Delete_answers_the_id_with_deleted_true_and_the_device_is_gone()
    {
        var (_, client) = await SignInAsync(liveMode: true);
        var id = (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(await CreateLocationAsync(client)))).GetProperty("id").GetString();

        using var deleted = await client.DeleteAsync($"/devices/{id}");

        await AssertDeletedAsync(deleted, id!, "device", liveMode: true);
        using var get = await client.GetAsync($"/devices/{id}");
        await AssertErrorAsync(get, HttpStatusCode.NotFound, "api.device_get", "device_not_found", "id", liveMode: true);
        using var again = await client.DeleteAsync($"/devices/{id}");
        await AssertErrorAsync(again, HttpStatusCode.NotFound, "api.device_delete", "device_not_found", "id", liveMode: true);
    }

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");
}
