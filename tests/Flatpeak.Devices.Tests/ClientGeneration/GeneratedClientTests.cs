using System.Net.Http.Headers;
using Flatpeak.Devices.Client;
using Flatpeak.Devices.Client.Models;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;

namespace Flatpeak.Devices.Tests.ClientGeneration;

/// <summary>The C# client Kiota generates from the served document (scripts/generate-client.sh), used as an integrator would.</summary>
public sealed class GeneratedClientTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task Log_in_create_a_location_and_the_seed_device_then_read_it_back()
    {
        var account = await Api.CreateAccountAsync();
        using var http = Api.Factory.CreateClient();
        var adapter = new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: http)
        {
            BaseUrl = http.BaseAddress!.ToString().TrimEnd('/'),
        };
        var client = new FlatpeakDevicesClient(adapter);

        var login = await client.Login.GetAsync(request =>
            request.Headers.Add("Authorization", ApiFixture.BasicAuth(account.AccountId, account.LiveKey).ToString()));
        Assert.True(login!.LiveMode);
        Assert.Equal(3600, login.ExpiresIn);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login.BearerToken);

        var location = await client.Locations.PostAsync(new CreateLocationRequest
        {
            ReferenceId = "HOME-1",
            PostalAddress = new PostalAddress { AddressLine1 = "1 Energy Way", City = "London", CountryCode = "GB" },
        });
        var created = await client.Devices.PostAsync(new CreateDeviceRequest
        {
            ReferenceId = "DEV1234567890",
            Type = CreateDeviceRequest_type.BATTERY_SYSTEM,
            Locations = [location!.Id!],
            Manufacturer = "Nova Systems",
            ModelCode = "PICOXN2",
            ModelName = "Pico Ultimate",
            Properties = new DeviceProperties
            {
                PowerRatingImportKwh = 14.2,
                CapacityKwh = 123,
                PowerRatingExportKwh = 7,
                PvAzimuth = 0,
                PvTilt = 23,
                PvTerrainShading = false,
                PvForecastsEnabled = false,
                InstallDate = new DateTimeOffset(2022, 3, 22, 11, 12, 21, TimeSpan.Zero),
            },
        });

        var device = await client.Devices[created!.Id].GetAsync();

        Assert.NotNull(device);
        Assert.Matches("^dev_[0-9a-f]{24}$", device.Id);
        Assert.Equal(DeviceResponse_object.Device, device.Object);
        Assert.True(device.LiveMode);
        Assert.Equal("DEV1234567890", device.ReferenceId);
        Assert.Equal(DeviceResponse_type.BATTERY_SYSTEM, device.Type);
        Assert.Equal([location.Id!], device.Locations);
        Assert.Equal("Nova Systems", device.Manufacturer);
        Assert.Equal("PICOXN2", device.ModelCode);
        Assert.Equal("Pico Ultimate", device.ModelName);
        Assert.Equal(account.AccountId, device.AccountId);
        Assert.Null(device.LastSeen);
        Assert.Equal(14.2, device.Properties!.PowerRatingImportKwh);
        Assert.Equal(123, device.Properties.CapacityKwh);
        Assert.Equal(23, device.Properties.PvTilt);
        Assert.Equal(new DateTimeOffset(2022, 3, 22, 11, 12, 21, TimeSpan.Zero), device.Properties.InstallDate);

        Assert.Equal("London", (await client.Locations[location.Id].GetAsync())!.PostalAddress!.City);
        var measured = new DateTimeOffset(DateTime.UtcNow.AddMinutes(-1).Ticks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, TimeSpan.Zero);
        var submitted = await client.Devices[created.Id].State.PutAsync(new SubmitDeviceStateRequest
        {
            Time = measured,
            StateOfChargePercent = 64.5,
            TargetStateOfChargePercent = 90,
            RecordReferenceId = "rec-0001",
        });
        var state = await client.Devices[created.Id].State.GetAsync();
        Assert.Equal(submitted!.Id, state!.Id);
        Assert.Equal(measured, state.Time);
        Assert.Equal(64.5, state.StateOfChargePercent);
        Assert.Equal("rec-0001", state.RecordReferenceId);
        Assert.NotNull((await client.Devices[created.Id].GetAsync())!.LastSeen);
        var deleted = await client.Devices[created.Id].DeleteAsync();
        Assert.Equal(DeletedResponse_message.Accepted, deleted!.Message);
        Assert.True(deleted.Deleted);

        var missing = await Assert.ThrowsAsync<ApiError>(() => client.Devices["dev_000000000000000000000000"].GetAsync());
        Assert.Equal("device_not_found", missing.Code);
        Assert.Equal(ApiError_type.Invalid_request, missing.Type);
        Assert.Equal(404, missing.ResponseStatusCode);
    }
}
