using System.Net;
using System.Text.Json;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.Locations;

public sealed class LocationTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    private static string FullLocation(string customerId) => $$"""
        {
          "reference_id": "HOME-1",
          "customer_id": "{{customerId}}",
          "postal_address": {
            "address_line1": "1 Energy Way",
            "address_line2": "Flat 2",
            "city": "London",
            "state": "Greater London",
            "post_code": "SW1A 1AA",
            "country_code": "GB"
          }
        }
        """;

    [Fact]
    public async Task Create_then_get_returns_every_field()
    {
        var (account, client) = await SignInAsync();

        using var customer = await PostJsonAsync(client, "/customers", """{"reference_id":"CUS-42"}""");
        var customerId = (await ReadJsonAsync(customer)).GetProperty("id").GetString()!;

        using var created = await PostJsonAsync(client, "/locations", FullLocation(customerId));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = await ReadJsonAsync(created);
        var id = location.GetProperty("id").GetString()!;
        Assert.Matches("^loc_[0-9a-f]{24}$", id);
        Assert.Equal($"/locations/{id}", created.Headers.Location?.OriginalString);

        using var fetched = await client.GetAsync($"/locations/{id}");
        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        var again = await ReadJsonAsync(fetched);
        foreach (var body in new[] { location, again })
        {
            Assert.Equal(
                ["id", "object", "live_mode", "reference_id", "customer_id", "postal_address", "devices", "account_id", "time_created"],
                body.EnumerateObject().Select(p => p.Name));
            Assert.Equal(id, body.GetProperty("id").GetString());
            Assert.Equal("location", body.GetProperty("object").GetString());
            Assert.False(body.GetProperty("live_mode").GetBoolean());
            Assert.Equal("HOME-1", body.GetProperty("reference_id").GetString());
            Assert.Equal(customerId, body.GetProperty("customer_id").GetString());
            Assert.Equal(account.AccountId, body.GetProperty("account_id").GetString());
            Assert.Empty(body.GetProperty("devices").EnumerateArray());
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", body.GetProperty("time_created").GetString());
            var address = body.GetProperty("postal_address");
            Assert.Equal("1 Energy Way", address.GetProperty("address_line1").GetString());
            Assert.Equal("Flat 2", address.GetProperty("address_line2").GetString());
            Assert.Equal("London", address.GetProperty("city").GetString());
            Assert.Equal("Greater London", address.GetProperty("state").GetString());
            Assert.Equal("SW1A 1AA", address.GetProperty("post_code").GetString());
            Assert.Equal("GB", address.GetProperty("country_code").GetString());
        }
    }

    [Fact]
    public async Task An_empty_location_has_null_fields()
    {
        var (_, client) = await SignInAsync();

        using var created = await PostJsonAsync(client, "/locations", "{}");

        var location = await ReadJsonAsync(created);
        Assert.Equal(JsonValueKind.Null, location.GetProperty("reference_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, location.GetProperty("customer_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, location.GetProperty("postal_address").ValueKind);
    }

    [Fact]
    public async Task A_location_lists_the_devices_that_reference_it()
    {
        var (_, client) = await SignInAsync();
        var home = await CreateLocationAsync(client);
        var office = await CreateLocationAsync(client);
        using var first = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(home, office));
        using var second = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(home));
        var firstId = (await ReadJsonAsync(first)).GetProperty("id").GetString();
        var secondId = (await ReadJsonAsync(second)).GetProperty("id").GetString();

        using var homeResponse = await client.GetAsync($"/locations/{home}");
        using var officeResponse = await client.GetAsync($"/locations/{office}");

        Assert.Equal([secondId, firstId], (await ReadJsonAsync(homeResponse)).GetProperty("devices").EnumerateArray().Select(d => d.GetString()));
        Assert.Equal([firstId], (await ReadJsonAsync(officeResponse)).GetProperty("devices").EnumerateArray().Select(d => d.GetString()));
    }

    [Theory]
    [InlineData("""{"postal_address":{"country_code":"gb"}}""", "country_code_invalid", "postal_address.country_code")]
    [InlineData("""{"postal_address":{"country_code":"XX"}}""", "country_code_invalid", "postal_address.country_code")]
    [InlineData("""{"postal_address":{"country_code":"GBR"}}""", "country_code_invalid", "postal_address.country_code")]
    [InlineData("""{"postal_address":{"city":""}}""", "city_invalid", "postal_address.city")]
    [InlineData("""{"reference_id":"a\u0000b"}""", "reference_id_invalid", "reference_id")]
    [InlineData("""{"customer_id":7}""", "customer_id_invalid", "customer_id")]
    [InlineData("""{"devices":[]}""", "parameter_unknown", "devices")]
    [InlineData("""{"id":"loc_641b90b758fb8e6293716e40"}""", "parameter_unknown", "id")]
    public async Task An_invalid_location_answers_400(string body, string code, string param)
    {
        var (_, client) = await SignInAsync();

        using var response = await PostJsonAsync(client, "/locations", body);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.location_create", code, param);
    }

    [Fact]
    public async Task A_location_of_another_account_or_mode_is_not_found_like_one_that_never_existed()
    {
        var (acme, acmeTest) = await SignInAsync(name: "Acme");
        var (_, globex) = await SignInAsync(name: "Globex");
        using var acmeLive = Api.Client(await Api.LoginAsync(acme.AccountId, acme.LiveKey));
        var location = await CreateLocationAsync(acmeTest);

        using var fromGlobex = await globex.GetAsync($"/locations/{location}");
        using var fromLiveMode = await acmeLive.GetAsync($"/locations/{location}");
        using var never = await acmeTest.GetAsync("/locations/loc_000000000000000000000000");

        var errors = new[]
        {
            await AssertErrorAsync(fromGlobex, HttpStatusCode.NotFound, "api.location_get", "location_not_found", "id"),
            await AssertErrorAsync(fromLiveMode, HttpStatusCode.NotFound, "api.location_get", "location_not_found", "id", liveMode: true),
            await AssertErrorAsync(never, HttpStatusCode.NotFound, "api.location_get", "location_not_found", "id"),
        };
        Assert.Equal($"No such location: '{location}'", errors[0].GetProperty("message").GetString());
        Assert.Equal(errors[0].GetProperty("message").GetString(), errors[1].GetProperty("message").GetString());
    }
}
