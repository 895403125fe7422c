using System.Net;
using System.Text.Json;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.Customers;

/// <summary>The customer resource (API.md, "Locations and customers, complete").</summary>
public sealed class CustomerTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task Create_then_get_returns_every_field()
    {
        var (account, client) = await SignInAsync();

        using var created = await PostJsonAsync(client, "/customers", """{"reference_id":"CUS-42"}""");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var customer = await ReadJsonAsync(created);
        var id = customer.GetProperty("id").GetString()!;
        Assert.Matches("^cus_[0-9a-f]{24}$", id);
        Assert.Equal($"/customers/{id}", created.Headers.Location?.OriginalString);
        using var fetched = await client.GetAsync($"/customers/{id}");
        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        foreach (var body in new[] { customer, await ReadJsonAsync(fetched) })
        {
            Assert.Equal(["id", "object", "live_mode", "account_id", "reference_id", "locations", "time_created"], body.EnumerateObject().Select(p => p.Name));
            Assert.Equal(id, body.GetProperty("id").GetString());
            Assert.Equal("customer", body.GetProperty("object").GetString());
            Assert.False(body.GetProperty("live_mode").GetBoolean());
            Assert.Equal(account.AccountId, body.GetProperty("account_id").GetString());
            Assert.Equal("CUS-42", body.GetProperty("reference_id").GetString());
            Assert.Empty(body.GetProperty("locations").EnumerateArray());
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", body.GetProperty("time_created").GetString());
        }

        using var bare = await PostJsonAsync(client, "/customers", "{}");
        Assert.Equal(JsonValueKind.Null, (await ReadJsonAsync(bare)).GetProperty("reference_id").ValueKind);
    }

    [Theory]
    [InlineData("""{"reference_id":""}""", "reference_id_invalid", "reference_id")]
    [InlineData("""{"reference_id":"   "}""", "reference_id_invalid", "reference_id")]
    [InlineData("""{"reference_id":7}""", "reference_id_invalid", "reference_id")]
    [InlineData("""{"locations":[]}""", "parameter_unknown", "locations")]
    [InlineData("""{"live_mode":true}""", "parameter_unknown", "live_mode")]
    public async Task A_bad_create_is_refused_and_stores_nothing(string body, string code, string param)
    {
        var (_, client) = await SignInAsync();

        using var response = await PostJsonAsync(client, "/customers", body);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.customer_create", code, param);
        Assert.Equal(0, await CountMineAsync(db => db.Customers));
        Assert.Empty(await StoredEventsAsync());
    }

    [Fact]
    public async Task Reference_id_may_be_255_characters_but_not_256()
    {
        var (_, client) = await SignInAsync();

        using var longest = await PostJsonAsync(client, "/customers", $$"""{"reference_id":"{{new string('r', 255)}}"}""");
        using var tooLong = await PostJsonAsync(client, "/customers", $$"""{"reference_id":"{{new string('r', 256)}}"}""");

        Assert.Equal(HttpStatusCode.Created, longest.StatusCode);
        await AssertErrorAsync(tooLong, HttpStatusCode.BadRequest, "api.customer_create", "reference_id_invalid", "reference_id");
    }

    [Fact]
    public async Task The_list_is_newest_first_filters_by_reference_id_and_pages()
    {
        var (_, client) = await SignInAsync();
        var a = await CreateCustomerAsync(client, """{"reference_id":"A"}""");
        var b = await CreateCustomerAsync(client, """{"reference_id":"B"}""");
        var c = await CreateCustomerAsync(client, """{"reference_id":"A"}""");

        Assert.Equal([c, b, a], await ListIdsAsync(client, "/customers"));
        Assert.Equal([c, a], await ListIdsAsync(client, "/customers?reference_id=A"));
        Assert.Equal([b, a], await ListIdsAsync(client, $"/customers?starting_after={c}"));
        Assert.Equal([c], await ListIdsAsync(client, $"/customers?ending_before={b}"));
        using var page = await client.GetAsync("/customers?limit=2");
        var list = await ReadJsonAsync(page);
        Assert.Equal("list", list.GetProperty("object").GetString());
        Assert.Equal("/customers", list.GetProperty("url").GetString());
        Assert.True(list.GetProperty("has_more").GetBoolean());

        using var bad = await client.GetAsync("/customers?starting_after=loc_000000000000000000000000");
        await AssertErrorAsync(bad, HttpStatusCode.BadRequest, "api.customer_list", "starting_after_invalid", "starting_after");
        using var unknown = await client.GetAsync("/customers?customer_id=x");
        await AssertErrorAsync(unknown, HttpStatusCode.BadRequest, "api.customer_list", "parameter_unknown", "customer_id");
    }

    [Fact]
    public async Task Another_account_or_mode_sees_nothing_and_changes_nothing()
    {
        var (_, client) = await SignInAsync();
        var (_, other) = await SignInAsync(name: "Other");
        var (_, live) = await SignInAsync(liveMode: true);
        var id = await CreateCustomerAsync(client, """{"reference_id":"CUS-42"}""");

        foreach (var stranger in new[] { other, live })
        {
            var liveMode = stranger == live;
            using var fetched = await stranger.GetAsync($"/customers/{id}");
            await AssertErrorAsync(fetched, HttpStatusCode.NotFound, "api.customer_get", "customer_not_found", "id", liveMode);
            using var patched = await stranger.SendAsync(Patch($"/customers/{id}", """{"reference_id":"MINE"}"""));
            await AssertErrorAsync(patched, HttpStatusCode.NotFound, "api.customer_update", "customer_not_found", "id", liveMode);
            using var deleted = await stranger.DeleteAsync($"/customers/{id}");
            await AssertErrorAsync(deleted, HttpStatusCode.NotFound, "api.customer_delete", "customer_not_found", "id", liveMode);
            Assert.Empty(await ListIdsAsync(stranger, "/customers?reference_id=CUS-42"));
        }

        using var mine = await client.GetAsync($"/customers/{id}");
        Assert.Equal("CUS-42", (await ReadJsonAsync(mine)).GetProperty("reference_id").GetString());
    }

    [Fact]
    public async Task A_patch_sets_and_clears_reference_id_with_one_event_each_and_none_for_no_change()
    {
        var (_, client) = await SignInAsync();
        var id = await CreateCustomerAsync(client, """{"reference_id":"CUS-1"}""");

        var set = await PatchOkAsync(client, $"/customers/{id}", """{"reference_id":"CUS-2"}""");
        await PatchOkAsync(client, $"/customers/{id}", """{"reference_id":"CUS-2"}""");
        var cleared = await PatchOkAsync(client, $"/customers/{id}", """{"reference_id":null}""");
        using var bad = await client.SendAsync(Patch($"/customers/{id}", """{"reference_id":""}"""));
        await AssertErrorAsync(bad, HttpStatusCode.BadRequest, "api.customer_update", "reference_id_invalid", "reference_id");

        Assert.Equal("CUS-2", set.GetProperty("reference_id").GetString());
        Assert.Equal(JsonValueKind.Null, cleared.GetProperty("reference_id").ValueKind);
        var events = await StoredEventsAsync();
        Assert.Equal(["customer.create", "customer.update", "customer.update"], events.Select(e => e.Type));
        Assert.Equal(cleared.GetRawText(), JsonDocument.Parse(events[^1].Data).RootElement.GetRawText());
        using var fetched = await client.GetAsync($"/customers/{id}");
        Assert.Equal(cleared.GetRawText(), (await ReadJsonAsync(fetched)).GetRawText());
    }

    [Fact]
    public async Task A_customer_named_by_a_location_cannot_be_deleted_until_no_location_names_it()
    {
        var (_, client) = await SignInAsync();
        var id = await CreateCustomerAsync(client);
        var location = await CreateLocationAsync(client, $$"""{"customer_id":"{{id}}"}""");

        using var refused = await client.DeleteAsync($"/customers/{id}");
        await AssertErrorAsync(refused, HttpStatusCode.Conflict, "api.customer_delete", "customer_in_use", "id");
        using var unlinked = await client.SendAsync(Patch($"/locations/{location}", """{"customer_id":null}"""));
        Assert.Equal(HttpStatusCode.OK, unlinked.StatusCode);
        using var deleted = await client.DeleteAsync($"/customers/{id}");

        await AssertDeletedAsync(deleted, id, "customer");
        using var gone = await client.GetAsync($"/customers/{id}");
        await AssertErrorAsync(gone, HttpStatusCode.NotFound, "api.customer_get", "customer_not_found", "id");
        using var named = await PostJsonAsync(client, "/locations", $$"""{"customer_id":"{{id}}"}""");
        await AssertErrorAsync(named, HttpStatusCode.BadRequest, "api.location_create", "customer_not_found", "customer_id");
        var events = (await StoredEventsAsync()).Where(e => e.ObjectId == id).Select(e => e.Type);
        Assert.Equal(["customer.create", "customer.delete"], events);
    }

    [Fact]
    public async Task A_customer_embeds_its_100_newest_locations_and_the_list_endpoint_has_them_all()
    {
        var (_, client) = await SignInAsync();
        var id = await CreateCustomerAsync(client);
        var locations = new List<string>();
        for (var i = 0; i < 101; i++)
        {
            locations.Add(await CreateLocationAsync(client, $$"""{"customer_id":"{{id}}"}"""));
        }

        locations.Reverse();
        using var fetched = await client.GetAsync($"/customers/{id}");
        var embedded = (await ReadJsonAsync(fetched)).GetProperty("locations").EnumerateArray().Select(l => l.GetString()!).ToList();
        Assert.Equal(locations.Take(100), embedded);
        using var listed = await client.GetAsync("/customers");
        Assert.Equal(embedded, (await ReadJsonAsync(listed)).GetProperty("data")[0].GetProperty("locations").EnumerateArray().Select(l => l.GetString()!));

        var all = await ListIdsAsync(client, $"/locations?customer_id={id}&limit=100");
        all.AddRange(await ListIdsAsync(client, $"/locations?customer_id={id}&limit=100&starting_after={all[^1]}"));
        Assert.Equal(locations, all);
    }

}
