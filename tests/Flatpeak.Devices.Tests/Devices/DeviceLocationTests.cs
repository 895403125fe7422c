using System.Net;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.Devices;

/// <summary>Every referenced location must exist in the caller's account and mode; otherwise the same 400, and nothing stored.</summary>
public sealed class DeviceLocationTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task A_location_that_never_existed_answers_location_not_found()
    {
        var (_, client) = await SignInAsync();
        var real = await CreateLocationAsync(client);

        using var response = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(real, "loc_000000000000000000000000"));

        var error = await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_create", "location_not_found", "locations[1]");
        Assert.Equal("No such location: 'loc_000000000000000000000000'.", error.GetProperty("message").GetString());
        await AssertNoDevicesAsync();
    }

    [Fact]
    public async Task A_location_of_another_account_answers_exactly_like_one_that_never_existed()
    {
        var (_, acme) = await SignInAsync(name: "Acme");
        var (_, globex) = await SignInAsync(name: "Globex");
        var globexLocation = await CreateLocationAsync(globex);

        using var response = await PostJsonAsync(acme, "/devices", CreateDeviceTests.SeedBody(globexLocation));

        var error = await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_create", "location_not_found", "locations[0]");
        Assert.Equal($"No such location: '{globexLocation}'.", error.GetProperty("message").GetString());
        await AssertNoDevicesAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_location_of_the_other_mode_answers_exactly_like_one_that_never_existed(bool locationInLiveMode)
    {
        var account = await CreateAccountAsync();
        using var test = Api.Client(await Api.LoginAsync(account.AccountId, account.TestKey));
        using var live = Api.Client(await Api.LoginAsync(account.AccountId, account.LiveKey));
        var location = await CreateLocationAsync(locationInLiveMode ? live : test);

        using var response = await PostJsonAsync(locationInLiveMode ? test : live, "/devices", CreateDeviceTests.SeedBody(location));

        var error = await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_create", "location_not_found", "locations[0]", liveMode: !locationInLiveMode);
        Assert.Equal($"No such location: '{location}'.", error.GetProperty("message").GetString());
        await AssertNoDevicesAsync();
    }

    [Fact]
    public async Task Several_locations_are_kept_in_the_order_given()
    {
        var (_, client) = await SignInAsync();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await CreateLocationAsync(client));
        }

        ids.Reverse();
        using var response = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody([.. ids]));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(ids, (await ReadJsonAsync(response)).GetProperty("locations").EnumerateArray().Select(l => l.GetString()));
    }
}
