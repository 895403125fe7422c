using System.Net;
using System.Text.Json;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.Devices;

public sealed class DeviceListTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task The_list_object_holds_the_newest_first_with_a_default_limit_of_30()
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);
        var ids = await CreateDevicesAsync(client, location, 31);

        using var response = await client.GetAsync("/devices");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var list = await ReadJsonAsync(response);
        Assert.Equal(["object", "url", "has_more", "data"], list.EnumerateObject().Select(p => p.Name));
        Assert.Equal("list", list.GetProperty("object").GetString());
        Assert.Equal("/devices", list.GetProperty("url").GetString());
        Assert.True(list.GetProperty("has_more").GetBoolean());
        Assert.Equal(Enumerable.Reverse(ids).Take(30), Ids(list));
        Assert.Equal("device", list.GetProperty("data")[0].GetProperty("object").GetString());
    }

    [Fact]
    public async Task Paging_forward_while_devices_are_being_created_sees_each_existing_device_once_in_order()
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);
        var existing = await CreateDevicesAsync(client, location, 25);

        var seen = new List<string>();
        string? cursor = null;
        bool hasMore;
        do
        {
            using var response = await client.GetAsync("/devices?limit=10" + (cursor is null ? "" : $"&starting_after={cursor}"));
            var page = await ReadJsonAsync(response);
            seen.AddRange(Ids(page));
            cursor = seen[^1];
            hasMore = page.GetProperty("has_more").GetBoolean();
            await CreateDevicesAsync(client, location, 3);
        }
        while (hasMore);

        Assert.Equal(Enumerable.Reverse(existing), seen);
    }

    [Fact]
    public async Task Paging_backward_with_ending_before_returns_the_newer_neighbours_newest_first()
    {
        var (_, client) = await SignInAsync();
        var ids = await CreateDevicesAsync(client, await CreateLocationAsync(client), 12);

        using var response = await client.GetAsync($"/devices?limit=5&ending_before={ids[3]}");
        var page = await ReadJsonAsync(response);
        using var last = await client.GetAsync($"/devices?limit=5&ending_before={ids[8]}");
        var lastPage = await ReadJsonAsync(last);

        Assert.Equal([ids[8], ids[7], ids[6], ids[5], ids[4]], Ids(page));
        Assert.True(page.GetProperty("has_more").GetBoolean());
        Assert.Equal([ids[11], ids[10], ids[9]], Ids(lastPage));
        Assert.False(lastPage.GetProperty("has_more").GetBoolean());
    }

    [Fact]
    public async Task A_cursor_keeps_its_place_after_its_device_is_deleted()
    {
        var (_, client) = await SignInAsync();
        var ids = await CreateDevicesAsync(client, await CreateLocationAsync(client), 5);
        using var deleted = await client.DeleteAsync($"/devices/{ids[3]}");

        using var response = await client.GetAsync($"/devices?starting_after={ids[3]}");

        Assert.Equal([ids[2], ids[1], ids[0]], Ids(await ReadJsonAsync(response)));
    }

    [Fact]
    public async Task Filters_by_reference_id_and_location_id()
    {
        var (_, client) = await SignInAsync();
        var home = await CreateLocationAsync(client);
        var office = await CreateLocationAsync(client);
        var a = (await CreateDeviceAsync(client, Body("A", home))).GetProperty("id").GetString()!;
        var b = (await CreateDeviceAsync(client, Body("B", home, office))).GetProperty("id").GetString()!;
        var c = (await CreateDeviceAsync(client, Body("A", office))).GetProperty("id").GetString()!;

        Assert.Equal([c, a], await ListIdsAsync(client, "/devices?reference_id=A"));
        Assert.Equal([b, a], await ListIdsAsync(client, $"/devices?location_id={home}"));
        Assert.Equal([c], await ListIdsAsync(client, $"/devices?location_id={office}&reference_id=A"));
        Assert.Empty(await ListIdsAsync(client, "/devices?location_id=loc_000000000000000000000000"));
    }

    [Fact]
    public async Task Another_accounts_and_the_other_modes_devices_are_not_listed()
    {
        var (acme, acmeTest) = await SignInAsync(name: "Acme");
        var (_, globex) = await SignInAsync(name: "Globex");
        using var acmeLive = Api.Client(await Api.LoginAsync(acme.AccountId, acme.LiveKey));
        var mine = await CreateDevicesAsync(acmeTest, await CreateLocationAsync(acmeTest), 2);

        Assert.Empty(await ListIdsAsync(globex, "/devices"));
        Assert.Empty(await ListIdsAsync(acmeLive, "/devices"));
        Assert.Equal(Enumerable.Reverse(mine), await ListIdsAsync(acmeTest, "/devices"));
    }

    [Theory]
    [InlineData("limit=0", "limit_invalid", "limit")]
    [InlineData("limit=101", "limit_invalid", "limit")]
    [InlineData("limit=abc", "limit_invalid", "limit")]
    [InlineData("limit=1.5", "limit_invalid", "limit")]
    [InlineData("limit=-1", "limit_invalid", "limit")]
    [InlineData("starting_after=loc_641b90b758fb8e6293716e40", "starting_after_invalid", "starting_after")]
    [InlineData("ending_before=nope", "ending_before_invalid", "ending_before")]
    [InlineData("starting_after=dev_641b90b758fb8e6293716e40&ending_before=dev_641b90b758fb8e6293716e41", "parameters_exclusive", "ending_before")]
    [InlineData("location_id=dev_641b90b758fb8e6293716e40", "location_id_invalid", "location_id")]
    public async Task Bad_list_parameters_answer_400(string query, string code, string param)
    {
        var (_, client) = await SignInAsync();

        using var response = await client.GetAsync($"/devices?{query}");

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_list", code, param);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(100)]
    public async Task Limit_takes_1_to_100(int limit)
    {
        var (_, client) = await SignInAsync();
        await CreateDevicesAsync(client, await CreateLocationAsync(client), 2);

        Assert.Equal(Math.Min(limit, 2), (await ListIdsAsync(client, $"/devices?limit={limit}")).Count);
    }

    private static string Body(string referenceId, params string[] locations) =>
        $$"""{"reference_id":"{{referenceId}}","type":"EV_CHARGER","locations":[{{string.Join(",", locations.Select(l => $"\"{l}\""))}}]}""";

    private static async Task<List<string>> CreateDevicesAsync(HttpClient client, string location, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add((await CreateDeviceAsync(client, Body($"D{i}", location))).GetProperty("id").GetString()!);
        }

        return ids;
    }

    private static List<string> Ids(JsonElement list) =>
        [.. list.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("id").GetString()!)];
}
