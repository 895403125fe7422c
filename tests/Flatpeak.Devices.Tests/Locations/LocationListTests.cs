using System.Net;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.Locations;

public sealed class LocationListTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task Locations_are_listed_newest_first_with_their_devices_and_page_by_cursor()
    {
        var (_, client) = await SignInAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await CreateLocationAsync(client));
        }

        var device = (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(ids[4], ids[1]))).GetProperty("id").GetString();

        using var first = await client.GetAsync("/locations?limit=3");
        var page = await ReadJsonAsync(first);
        Assert.Equal("list", page.GetProperty("object").GetString());
        Assert.Equal("/locations", page.GetProperty("url").GetString());
        Assert.True(page.GetProperty("has_more").GetBoolean());
        var data = page.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal([ids[4], ids[3], ids[2]], data.Select(l => l.GetProperty("id").GetString()));
        Assert.Equal([device], data[0].GetProperty("devices").EnumerateArray().Select(d => d.GetString()));
        Assert.Empty(data[1].GetProperty("devices").EnumerateArray());

        using var second = await client.GetAsync($"/locations?limit=3&starting_after={ids[2]}");
        var rest = await ReadJsonAsync(second);
        Assert.False(rest.GetProperty("has_more").GetBoolean());
        Assert.Equal([ids[1], ids[0]], rest.GetProperty("data").EnumerateArray().Select(l => l.GetProperty("id").GetString()));
        Assert.Equal([device], rest.GetProperty("data")[0].GetProperty("devices").EnumerateArray().Select(d => d.GetString()));
    }

    [Fact]
    public async Task Another_accounts_locations_are_not_listed()
    {
        var (_, acme) = await SignInAsync(name: "Acme");
        var (_, globex) = await SignInAsync(name: "Globex");
        await CreateLocationAsync(acme);

        using var response = await globex.GetAsync("/locations");

        Assert.Empty((await ReadJsonAsync(response)).GetProperty("data").EnumerateArray());
    }

    [Fact]
    public async Task A_cursor_of_the_wrong_kind_answers_400()
    {
        var (_, client) = await SignInAsync();

        using var response = await client.GetAsync("/locations?starting_after=dev_641b90b758fb8e6293716e40");

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.location_list", "starting_after_invalid", "starting_after");
    }
}
