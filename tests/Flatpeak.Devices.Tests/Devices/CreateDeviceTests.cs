using System.Net;
using System.Text.Json;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Flatpeak.Devices.Tests.Devices;

public sealed class CreateDeviceTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    public static string SeedBody(params string[] locationIds) => $$"""
        {
          "reference_id": "DEV1234567890",
          "type": "BATTERY_SYSTEM",
          "locations": [{{string.Join(", ", locationIds.Select(id => $"\"{id}\""))}}],
          "manufacturer": "Nova Systems",
          "model_code": "PICOXN2",
          "model_name": "Pico Ultimate",
          "properties": {
            "power_rating_import_kwh": 14.2,
            "capacity_kwh": 123,
            "power_rating_export_kwh": 7,
            "pv_azimuth": 0,
            "pv_tilt": 23,
            "pv_terrain_shading": false,
            "pv_forecasts_enabled": false,
            "install_date": "2022-03-22T11:12:21Z"
          }
        }
        """;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Seed_request_creates_the_device_with_every_field_of_the_seed_response(bool liveMode)
    {
        var (account, client) = await SignInAsync(liveMode);
        var locationId = await CreateLocationAsync(client);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        using var response = await PostJsonAsync(client, "/devices", SeedBody(locationId));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var device = await ReadJsonAsync(response);
        var id = device.GetProperty("id").GetString()!;
        Assert.Matches("^dev_[0-9a-f]{24}$", id);
        Assert.Equal($"/devices/{id}", response.Headers.Location?.OriginalString);
        Assert.Matches("^req_[0-9a-f]{24}$", Assert.Single(response.Headers.GetValues("Request-Id")));
        Assert.Equal(
            ["id", "object", "live_mode", "reference_id", "type", "locations", "manufacturer", "model_code", "model_name", "time_created", "account_id", "properties", "last_seen"],
            device.EnumerateObject().Select(p => p.Name));
        Assert.Equal("device", device.GetProperty("object").GetString());
        Assert.Equal(liveMode, device.GetProperty("live_mode").GetBoolean());
        Assert.Equal("DEV1234567890", device.GetProperty("reference_id").GetString());
        Assert.Equal("BATTERY_SYSTEM", device.GetProperty("type").GetString());
        Assert.Equal([locationId], device.GetProperty("locations").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal("Nova Systems", device.GetProperty("manufacturer").GetString());
        Assert.Equal("PICOXN2", device.GetProperty("model_code").GetString());
        Assert.Equal("Pico Ultimate", device.GetProperty("model_name").GetString());
        var timeCreated = device.GetProperty("time_created").GetString()!;
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", timeCreated);
        Assert.InRange(DateTimeOffset.Parse(timeCreated, System.Globalization.CultureInfo.InvariantCulture), before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal(account.AccountId, device.GetProperty("account_id").GetString());
        Assert.Equal(JsonValueKind.Null, device.GetProperty("last_seen").ValueKind);

        var properties = device.GetProperty("properties");
        Assert.Equal(
            ["power_rating_import_kwh", "capacity_kwh", "power_rating_export_kwh", "pv_azimuth", "pv_tilt", "pv_terrain_shading", "pv_forecasts_enabled", "install_date"],
            properties.EnumerateObject().Select(p => p.Name));
        Assert.Equal("14.2", properties.GetProperty("power_rating_import_kwh").GetRawText());
        Assert.Equal("123", properties.GetProperty("capacity_kwh").GetRawText());
        Assert.Equal("7", properties.GetProperty("power_rating_export_kwh").GetRawText());
        Assert.Equal("0", properties.GetProperty("pv_azimuth").GetRawText());
        Assert.Equal("23", properties.GetProperty("pv_tilt").GetRawText());
        Assert.False(properties.GetProperty("pv_terrain_shading").GetBoolean());
        Assert.False(properties.GetProperty("pv_forecasts_enabled").GetBoolean());
        Assert.Equal("2022-03-22T11:12:21Z", properties.GetProperty("install_date").GetString());

        await using var scope = Api.Factory.Services.CreateAsyncScope();
        var stored = await scope.ServiceProvider.GetRequiredService<DevicesDbContext>().Devices.SingleAsync(d => d.Id == id);
        Assert.Equal(account.AccountId, stored.AccountId);
        Assert.Equal(liveMode, stored.LiveMode);
        Assert.Equal([locationId], stored.LocationIds);
        Assert.Equal(14.2, stored.PowerRatingImportKwh);
    }

    [Fact]
    public async Task Optional_fields_left_out_come_back_as_null()
    {
        var (_, client) = await SignInAsync();
        var locationId = await CreateLocationAsync(client);

        using var response = await PostJsonAsync(client, "/devices", $$"""{"reference_id":"R1","type":"EV_CHARGER","locations":["{{locationId}}"]}""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var device = await ReadJsonAsync(response);
        Assert.Equal(JsonValueKind.Null, device.GetProperty("manufacturer").ValueKind);
        Assert.Equal(JsonValueKind.Null, device.GetProperty("model_code").ValueKind);
        Assert.Equal(JsonValueKind.Null, device.GetProperty("model_name").ValueKind);
        Assert.All(device.GetProperty("properties").EnumerateObject(), p => Assert.Equal(JsonValueKind.Null, p.Value.ValueKind));
    }
}
