using System.Net;
using System.Text.Json;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.Locations;

/// <summary>PATCH and DELETE of locations, the list filters and the bounded devices list (API.md, "Locations and customers, complete").</summary>
public sealed class LocationChangeTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    private const string FullAddress = """
        {"address_line1":"1 Energy Way","address_line2":"Flat 2","city":"London","state":"Greater London","post_code":"SW1A 1AA","country_code":"GB"}
        """;

    public static TheoryData<string, string, string> AddressFields => new()
    {
        { "address_line1", "2 Power Road", "1 Energy Way" },
        { "address_line2", "Flat 3", "Flat 2" },
        { "city", "Leeds", "London" },
        { "state", "West Yorkshire", "Greater London" },
        { "post_code", "LS1 1AA", "SW1A 1AA" },
        { "country_code", "IE", "GB" },
    };

    [Theory]
    [MemberData(nameof(AddressFields))]
    public async Task A_patch_sets_and_clears_one_address_field_and_keeps_the_others(string field, string value, string before)
    {
        var (_, client) = await SignInAsync();
        var id = await CreateLocationAsync(client, $$"""{"reference_id":"HOME-1","postal_address":{{FullAddress}}}""");
        using var original = await client.GetAsync($"/locations/{id}");
        var address = (await ReadJsonAsync(original)).GetProperty("postal_address");
        Assert.Equal(before, address.GetProperty(field).GetString());

        var set = await PatchOkAsync(client, $"/locations/{id}", $$$"""{"postal_address":{"{{{field}}}":"{{{value}}}"}}""");
        var cleared = await PatchOkAsync(client, $"/locations/{id}", $$$"""{"postal_address":{"{{{field}}}":null}}""");

        foreach (var (body, expected) in new[] { (set, value), (cleared, null) })
        {
            var patched = body.GetProperty("postal_address");
            Assert.Equal(expected, patched.GetProperty(field).GetString());
            Assert.All(patched.EnumerateObject().Where(p => p.Name != field), p => Assert.Equal(address.GetProperty(p.Name).GetString(), p.Value.GetString()));
            Assert.Equal("HOME-1", body.GetProperty("reference_id").GetString());
        }

        using var fetched = await client.GetAsync($"/locations/{id}");
        Assert.Equal(cleared.GetRawText(), (await ReadJsonAsync(fetched)).GetRawText());
    }

    [Fact]
    public async Task A_patch_sets_and_clears_reference_id_customer_id_and_the_whole_address()
    {
        var (_, client) = await SignInAsync();
        var customer = await CreateCustomerAsync(client);
        var id = await CreateLocationAsync(client, $$"""{"postal_address":{{FullAddress}}}""");

        var set = await PatchOkAsync(client, $"/locations/{id}", $$"""{"reference_id":"HOME-2","customer_id":"{{customer}}"}""");
        Assert.Equal("HOME-2", set.GetProperty("reference_id").GetString());
        Assert.Equal(customer, set.GetProperty("customer_id").GetString());
        Assert.Equal("London", set.GetProperty("postal_address").GetProperty("city").GetString());

        var cleared = await PatchOkAsync(client, $"/locations/{id}", """{"reference_id":null,"customer_id":null,"postal_address":null}""");
        Assert.Equal(JsonValueKind.Null, cleared.GetProperty("reference_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, cleared.GetProperty("customer_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, cleared.GetProperty("postal_address").ValueKind);

        // Clearing every address field one by one also leaves no address.
        await PatchOkAsync(client, $"/locations/{id}", """{"postal_address":{"city":"Leeds"}}""");
        var emptied = await PatchOkAsync(client, $"/locations/{id}", """{"postal_address":{"city":null}}""");
        Assert.Equal(JsonValueKind.Null, emptied.GetProperty("postal_address").ValueKind);
    }

    [Fact]
    public async Task Each_change_writes_one_event_with_the_location_as_stored_and_a_patch_that_changes_nothing_writes_none()
    {
        var (_, client) = await SignInAsync();
        var id = await CreateLocationAsync(client, """{"reference_id":"HOME-1"}""");

        var patched = await PatchOkAsync(client, $"/locations/{id}", """{"postal_address":{"city":"Leeds"}}""");
        await PatchOkAsync(client, $"/locations/{id}", """{"postal_address":{"city":"Leeds"},"reference_id":"HOME-1"}""");
        await PatchOkAsync(client, $"/locations/{id}", "{}");
        using var deleted = await client.DeleteAsync($"/locations/{id}");
        await AssertDeletedAsync(deleted, id, "location");

        var events = (await StoredEventsAsync()).Where(e => e.ObjectId == id).ToList();
        Assert.Equal(["location.create", "location.update", "location.delete"], events.Select(e => e.Type));
        Assert.Equal(patched.GetRawText(), JsonDocument.Parse(events[1].Data).RootElement.GetRawText());
        Assert.Equal(patched.GetRawText(), JsonDocument.Parse(events[2].Data).RootElement.GetRawText());
        Assert.All(events, e => Assert.Equal("2026-08-01.busbar", e.ApiVersion));
    }

    [Theory]
    [InlineData("""{"postal_address":{"country_code":"XX"}}""", "country_code_invalid", "postal_address.country_code")]
    [InlineData("""{"postal_address":{"city":""}}""", "city_invalid", "postal_address.city")]
    [InlineData("""{"postal_address":7}""", "postal_address_invalid", "postal_address")]
    [InlineData("""{"reference_id":""}""", "reference_id_invalid", "reference_id")]
    [InlineData("""{"customer_id":"CUS-42"}""", "customer_id_invalid", "customer_id")]
    [InlineData("""{"customer_id":"cus_000000000000000000000000"}""", "customer_not_found", "customer_id")]
    [InlineData("""{"devices":[]}""", "parameter_unknown", "devices")]
    [InlineData("""{"id":"loc_000000000000000000000000"}""", "parameter_unknown", "id")]
    public async Task A_bad_patch_is_refused_and_changes_nothing(string patch, string code, string param)
    {
        var (_, client) = await SignInAsync();
        var id = await CreateLocationAsync(client, $$"""{"reference_id":"HOME-1","postal_address":{{FullAddress}}}""");
        using var before = await client.GetAsync($"/locations/{id}");
        var stored = (await ReadJsonAsync(before)).GetRawText();

        using var response = await client.SendAsync(Patch($"/locations/{id}", patch));

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.location_update", code, param);
        using var after = await client.GetAsync($"/locations/{id}");
        Assert.Equal(stored, (await ReadJsonAsync(after)).GetRawText());
        Assert.Single(await StoredEventsAsync());
    }

    [Fact]
    public async Task A_customer_of_another_account_or_mode_is_not_found_exactly_like_a_missing_one()
    {
        var (_, client) = await SignInAsync();
        var (_, other) = await SignInAsync(name: "Other");
        var (_, live) = await SignInAsync(liveMode: true);
        var foreign = await CreateCustomerAsync(other);
        var liveCustomer = await CreateCustomerAsync(live);
        var id = await CreateLocationAsync(client);

        foreach (var customer in new[] { foreign, liveCustomer, "cus_000000000000000000000000" })
        {
            using var created = await PostJsonAsync(client, "/locations", $$"""{"customer_id":"{{customer}}"}""");
            var error = await AssertErrorAsync(created, HttpStatusCode.BadRequest, "api.location_create", "customer_not_found", "customer_id");
            Assert.Equal($"No such customer: '{customer}'.", error.GetProperty("message").GetString());
            using var patched = await client.SendAsync(Patch($"/locations/{id}", $$"""{"customer_id":"{{customer}}"}"""));
            await AssertErrorAsync(patched, HttpStatusCode.BadRequest, "api.location_update", "customer_not_found", "customer_id");
        }

        Assert.Equal(0, await CountMineAsync(db => db.Locations.Where(l => l.CustomerId != null)));
    }

    [Fact]
    public async Task A_location_with_devices_cannot_be_deleted_and_goes_once_they_are_gone()
    {
        var (_, client) = await SignInAsync();
        var id = await CreateLocationAsync(client);
        var device = (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(id))).GetProperty("id").GetString()!;

        using var refused = await client.DeleteAsync($"/locations/{id}");
        var error = await AssertErrorAsync(refused, HttpStatusCode.Conflict, "api.location_delete", "location_in_use", "id");
        Assert.Contains(id, error.GetProperty("message").GetString());
        using var stillThere = await client.GetAsync($"/locations/{id}");
        Assert.Equal(HttpStatusCode.OK, stillThere.StatusCode);

        using var deviceGone = await client.DeleteAsync($"/devices/{device}");
        await AssertDeletedAsync(deviceGone, device, "device");
        using var deleted = await client.DeleteAsync($"/locations/{id}");

        await AssertDeletedAsync(deleted, id, "location");
        using var gone = await client.GetAsync($"/locations/{id}");
        await AssertErrorAsync(gone, HttpStatusCode.NotFound, "api.location_get", "location_not_found", "id");
        using var again = await client.DeleteAsync($"/locations/{id}");
        await AssertErrorAsync(again, HttpStatusCode.NotFound, "api.location_delete", "location_not_found", "id");
        using var deviceThere = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(id));
        await AssertErrorAsync(deviceThere, HttpStatusCode.BadRequest, "api.device_create", "location_not_found", "locations[0]");
    }

    [Fact]
    public async Task Another_account_or_mode_can_neither_patch_nor_delete_a_location()
    {
        var (_, client) = await SignInAsync();
        var (_, other) = await SignInAsync(name: "Other");
        var (_, live) = await SignInAsync(liveMode: true);
        var id = await CreateLocationAsync(client, """{"reference_id":"HOME-1"}""");

        foreach (var stranger in new[] { other, live })
        {
            var liveMode = stranger == live;
            using var patched = await stranger.SendAsync(Patch($"/locations/{id}", """{"reference_id":"MINE"}"""));
            await AssertErrorAsync(patched, HttpStatusCode.NotFound, "api.location_update", "location_not_found", "id", liveMode);
            using var deleted = await stranger.DeleteAsync($"/locations/{id}");
            await AssertErrorAsync(deleted, HttpStatusCode.NotFound, "api.location_delete", "location_not_found", "id", liveMode);
        }

        using var fetched = await client.GetAsync($"/locations/{id}");
        Assert.Equal("HOME-1", (await ReadJsonAsync(fetched)).GetProperty("reference_id").GetString());
    }

    [Fact]
    public async Task The_list_filters_by_reference_id_and_customer_id()
    {
        var (_, client) = await SignInAsync();
        var customer = await CreateCustomerAsync(client);
        var a = await CreateLocationAsync(client, $$"""{"reference_id":"A","customer_id":"{{customer}}"}""");
        var b = await CreateLocationAsync(client, """{"reference_id":"B"}""");
        var c = await CreateLocationAsync(client, $$"""{"reference_id":"B","customer_id":"{{customer}}"}""");

        Assert.Equal([c, b], await ListIdsAsync(client, "/locations?reference_id=B"));
        Assert.Equal([c, a], await ListIdsAsync(client, $"/locations?customer_id={customer}"));
        Assert.Equal([c], await ListIdsAsync(client, $"/locations?customer_id={customer}&reference_id=B"));
        Assert.Empty(await ListIdsAsync(client, "/locations?customer_id=cus_000000000000000000000000"));
        Assert.Equal([a], await ListIdsAsync(client, $"/locations?customer_id={customer}&starting_after={c}"));

        using var bad = await client.GetAsync("/locations?customer_id=CUS-42");
        await AssertErrorAsync(bad, HttpStatusCode.BadRequest, "api.location_list", "customer_id_invalid", "customer_id");
        using var blank = await client.GetAsync("/locations?reference_id=");
        await AssertErrorAsync(blank, HttpStatusCode.BadRequest, "api.location_list", "reference_id_invalid", "reference_id");
    }

    [Fact]
    public async Task A_location_embeds_its_100_newest_devices_and_the_list_endpoint_has_them_all()
    {
        var (_, client) = await SignInAsync();
        var id = await CreateLocationAsync(client);
        var devices = new List<string>();
        for (var i = 0; i < 101; i++)
        {
            devices.Add((await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(id))).GetProperty("id").GetString()!);
        }

        devices.Reverse();
        using var fetched = await client.GetAsync($"/locations/{id}");
        var embedded = (await ReadJsonAsync(fetched)).GetProperty("devices").EnumerateArray().Select(d => d.GetString()!).ToList();
        Assert.Equal(devices.Take(100), embedded);
        using var listed = await client.GetAsync("/locations?limit=1");
        Assert.Equal(embedded, (await ReadJsonAsync(listed)).GetProperty("data")[0].GetProperty("devices").EnumerateArray().Select(d => d.GetString()!));

        var all = await ListIdsAsync(client, $"/devices?location_id={id}&limit=100");
        all.AddRange(await ListIdsAsync(client, $"/devices?location_id={id}&limit=100&starting_after={all[^1]}"));
        Assert.Equal(devices, all);
    }

}
