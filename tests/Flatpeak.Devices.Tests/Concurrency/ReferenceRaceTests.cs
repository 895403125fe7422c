using System.Net;
using System.Text.Json;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Flatpeak.Devices.Tests.Concurrency;

/// <summary>
/// Deletes of referenced objects (locations, customers) raced against the writes that reference them, many rounds at
/// once: nothing may end up pointing at a deleted object, and the answers, the rows and the events must agree.
/// </summary>
public sealed class ReferenceRaceTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    private const int Rounds = 20;

    [Fact]
    public async Task A_location_delete_racing_device_creates_and_a_patch_never_leaves_a_device_at_a_deleted_location()
    {
        var (_, client) = await SignInAsync();
        var elsewhere = await CreateLocationAsync(client);
        var rounds = new List<(string Location, string MovedDevice)>();
        for (var round = 0; round < Rounds; round++)
        {
            var moved = (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(elsewhere))).GetProperty("id").GetString()!;
            rounds.Add((await CreateLocationAsync(client), moved));
        }

        var answers = await Race.RunAsync(rounds.SelectMany(r =>
            Enumerable.Range(0, 6).Select(_ => (r.Location, HttpMethod.Post, Race.Send(() => PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(r.Location)))))
                .Append((r.Location, HttpMethod.Delete, Race.Send(() => client.DeleteAsync($"/locations/{r.Location}"))))
                .Append((r.Location, HttpMethod.Patch, Race.Send(() => client.SendAsync(Patch($"/devices/{r.MovedDevice}", $$"""{"locations":["{{elsewhere}}","{{r.Location}}"]}""")))))));

        var events = await StoredEventsAsync();
        await using var scope = Api.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DevicesDbContext>();
        var devices = await Mine(db.Devices).ToListAsync();
        var locations = (await Mine(db.Locations).Select(l => l.Id).ToListAsync()).ToHashSet(StringComparer.Ordinal);
        Assert.All(devices, d => Assert.All(d.LocationIds, l => Assert.Contains(l, locations)));

        var deletedRounds = 0;
        foreach (var (location, moved) in rounds)
        {
            var mine = answers.Where(a => a.Id == location).ToList();
            var delete = mine.Single(a => a.Method == HttpMethod.Delete);
            var created = mine.Where(a => a.Method == HttpMethod.Post && a.Status == HttpStatusCode.Created).Select(a => a.Body.GetProperty("id").GetString()!).ToList();
            var patched = mine.Single(a => a.Method == HttpMethod.Patch).Status == HttpStatusCode.OK;
            Assert.All(mine.Where(a => a.Status is not (HttpStatusCode.Created or HttpStatusCode.OK or HttpStatusCode.Accepted)), a => AssertRefused(a, delete.Method == a.Method ? "location_in_use" : "location_not_found"));
            if (delete.Status == HttpStatusCode.Accepted)
            {
                deletedRounds++;
                Assert.Empty(created);
                Assert.False(patched);
                Assert.DoesNotContain(location, locations);
                Assert.Single(events, e => e.ObjectId == location && e.Type == "location.delete");
            }
            else
            {
                Assert.Equal(HttpStatusCode.Conflict, delete.Status);
                Assert.Contains(location, locations);
                Assert.True(created.Count > 0 || patched, "a refused delete must have seen a device");
                Assert.DoesNotContain(events, e => e.ObjectId == location && e.Type == "location.delete");
            }

            // Exactly the devices that were answered 201 (and the patched one, when answered 200) are at the location.
            var atLocation = devices.Where(d => d.LocationIds.Contains(location)).Select(d => d.Id).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(created.Concat(patched ? [moved] : []).Order(StringComparer.Ordinal), atLocation);
            Assert.Equal(created.Order(StringComparer.Ordinal), events.Where(e => e.Type == "device.create" && created.Contains(e.ObjectId)).Select(e => e.ObjectId).Order(StringComparer.Ordinal));
            Assert.Equal(patched ? 1 : 0, events.Count(e => e.ObjectId == moved && e.Type == "device.update"));
        }

        Assert.Equal(answers.Count(a => a.Method == HttpMethod.Post && a.Status == HttpStatusCode.Created) + Rounds, events.Count(e => e.Type == "device.create"));
        Assert.Equal(deletedRounds, events.Count(e => e.Type == "location.delete"));
        await AssertDeviceLocationsMatchDevicesAsync();
    }

    [Fact]
    public async Task Devices_moved_between_locations_by_racing_patches_and_deleted_are_listed_exactly_where_they_are()
    {
        var (_, client) = await SignInAsync();
        var places = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            places.Add(await CreateLocationAsync(client));
        }

        // Each device starts at all four and is patched to six other location lists at once (moves, growths, shrinks,
        // so every patch changes it), and every other device is deleted in the same race.
        string[][] moves = [[places[0]], [places[1]], [places[0], places[1]], [places[2], places[3]], [places[3], places[0], places[2]], [places[1], places[2]]];
        var devices = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            devices.Add((await CreateDeviceAsync(client, CreateDeviceTests.SeedBody([.. places]))).GetProperty("id").GetString()!);
        }

        var answers = await Race.RunAsync(devices.SelectMany((id, i) =>
            moves.Select(to => (id, HttpMethod.Patch, Race.Send(() => client.SendAsync(Patch($"/devices/{id}", JsonSerializer.Serialize(new { locations = to }))))))
                .Concat(i % 2 == 0 ? [(id, HttpMethod.Delete, Race.Send(() => client.DeleteAsync($"/devices/{id}")))] : [])));

        Assert.All(answers.Where(a => a.Method == HttpMethod.Patch), a => Assert.Contains(a.Status, new[] { HttpStatusCode.OK, HttpStatusCode.NotFound }));
        Assert.All(answers.Where(a => a.Method == HttpMethod.Delete), a => Assert.Equal(HttpStatusCode.Accepted, a.Status));
        await AssertDeviceLocationsMatchDevicesAsync();
        var events = await StoredEventsAsync();
        foreach (var id in devices)
        {
            using var get = await client.GetAsync($"/devices/{id}");
            var deleted = answers.Any(a => a.Id == id && a.Method == HttpMethod.Delete && a.Status == HttpStatusCode.Accepted);
            Assert.Equal(deleted ? HttpStatusCode.NotFound : HttpStatusCode.OK, get.StatusCode);
            var patched = answers.Count(a => a.Id == id && a.Method == HttpMethod.Patch && a.Status == HttpStatusCode.OK);
            Assert.Equal(patched, events.Count(e => e.ObjectId == id && e.Type == "device.update"));
        }

        // Every location lists (in GET /devices?location_id= and in its own devices) exactly the devices that name it.
        using var all = await client.GetAsync("/devices?limit=100");
        var stored = (await ReadJsonAsync(all)).GetProperty("data").EnumerateArray().ToList();
        foreach (var place in places)
        {
            var expected = stored.Where(d => d.GetProperty("locations").EnumerateArray().Any(l => l.GetString() == place))
                .Select(d => d.GetProperty("id").GetString()!).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(expected, (await ListIdsAsync(client, $"/devices?location_id={place}")).Order(StringComparer.Ordinal));
            using var location = await client.GetAsync($"/locations/{place}");
            Assert.Equal(expected, (await ReadJsonAsync(location)).GetProperty("devices").EnumerateArray().Select(d => d.GetString()!).Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task A_customer_delete_racing_location_creates_and_a_patch_never_leaves_a_location_with_a_deleted_customer()
    {
        var (_, client) = await SignInAsync();
        var rounds = new List<(string Customer, string Location)>();
        for (var round = 0; round < Rounds; round++)
        {
            rounds.Add((await CreateCustomerAsync(client), await CreateLocationAsync(client)));
        }

        var answers = await Race.RunAsync(rounds.SelectMany(r =>
            Enumerable.Range(0, 6).Select(_ => (r.Customer, HttpMethod.Post, Race.Send(() => PostJsonAsync(client, "/locations", $$"""{"customer_id":"{{r.Customer}}"}"""))))
                .Append((r.Customer, HttpMethod.Delete, Race.Send(() => client.DeleteAsync($"/customers/{r.Customer}"))))
                .Append((r.Customer, HttpMethod.Patch, Race.Send(() => client.SendAsync(Patch($"/locations/{r.Location}", $$"""{"customer_id":"{{r.Customer}}"}""")))))));

        var events = await StoredEventsAsync();
        await using var scope = Api.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DevicesDbContext>();
        var locations = await Mine(db.Locations).ToListAsync();
        var customers = (await Mine(db.Customers).Select(c => c.Id).ToListAsync()).ToHashSet(StringComparer.Ordinal);
        Assert.All(locations.Where(l => l.CustomerId is not null), l => Assert.Contains(l.CustomerId!, customers));

        foreach (var (customer, patchedLocation) in rounds)
        {
            var mine = answers.Where(a => a.Id == customer).ToList();
            var delete = mine.Single(a => a.Method == HttpMethod.Delete);
            var created = mine.Where(a => a.Method == HttpMethod.Post && a.Status == HttpStatusCode.Created).Select(a => a.Body.GetProperty("id").GetString()!).ToList();
            var patched = mine.Single(a => a.Method == HttpMethod.Patch).Status == HttpStatusCode.OK;
            Assert.All(mine.Where(a => a.Status is not (HttpStatusCode.Created or HttpStatusCode.OK or HttpStatusCode.Accepted)), a => AssertRefused(a, delete.Method == a.Method ? "customer_in_use" : "customer_not_found"));
            if (delete.Status == HttpStatusCode.Accepted)
            {
                Assert.Empty(created);
                Assert.False(patched);
                Assert.DoesNotContain(customer, customers);
                Assert.Single(events, e => e.ObjectId == customer && e.Type == "customer.delete");
            }
            else
            {
                Assert.Equal(HttpStatusCode.Conflict, delete.Status);
                Assert.Contains(customer, customers);
                Assert.True(created.Count > 0 || patched, "a refused delete must have seen a location");
                Assert.DoesNotContain(events, e => e.ObjectId == customer && e.Type == "customer.delete");
            }

            var ofCustomer = locations.Where(l => l.CustomerId == customer).Select(l => l.Id).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(created.Concat(patched ? [patchedLocation] : []).Order(StringComparer.Ordinal), ofCustomer);
            Assert.Equal(created.Count, events.Count(e => e.Type == "location.create" && created.Contains(e.ObjectId)));
            Assert.Equal(patched ? 1 : 0, events.Count(e => e.ObjectId == patchedLocation && e.Type == "location.update"));
        }

        Assert.Equal(answers.Count(a => a.Method == HttpMethod.Post && a.Status == HttpStatusCode.Created) + Rounds, events.Count(e => e.Type == "location.create"));
        Assert.Equal(answers.Count(a => a.Method == HttpMethod.Delete && a.Status == HttpStatusCode.Accepted), events.Count(e => e.Type == "customer.delete"));
    }

    [Fact]
    public async Task Parallel_patches_of_different_address_fields_all_land_and_the_newest_event_equals_the_location()
    {
        var (_, client) = await SignInAsync();
        string[] fields = ["address_line1", "address_line2", "city", "state", "post_code"];
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await CreateLocationAsync(client, """{"postal_address":{"country_code":"GB"}}"""));
        }

        var answers = await Race.RunAsync(ids.SelectMany(id => fields.Select(f =>
            (id, HttpMethod.Patch, Race.Send(() => client.SendAsync(Patch($"/locations/{id}", $$$"""{"postal_address":{"{{{f}}}":"{{{f}}}-value"}}""")))))));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        var events = await StoredEventsAsync();
        foreach (var id in ids)
        {
            using var fetched = await client.GetAsync($"/locations/{id}");
            var location = await ReadJsonAsync(fetched);
            var address = location.GetProperty("postal_address");
            Assert.All(fields, f => Assert.Equal($"{f}-value", address.GetProperty(f).GetString()));
            Assert.Equal("GB", address.GetProperty("country_code").GetString());
            var updates = events.Where(e => e.ObjectId == id && e.Type == "location.update").ToList();
            Assert.Equal(fields.Length, updates.Count);
            // Each update adds exactly one field to the one before: a chain, no state the location never had.
            Assert.Equal(
                Enumerable.Range(1, fields.Length),
                updates.Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("postal_address").EnumerateObject().Count(p => p.Value.ValueKind != JsonValueKind.Null) - 1));
            Assert.Equal(location.GetRawText(), JsonDocument.Parse(updates[^1].Data).RootElement.GetRawText());
            // Every answer is one of those states.
            Assert.All(answers.Where(a => a.Id == id), a => Assert.Contains(updates, e => JsonElement.DeepEquals(a.Body, JsonDocument.Parse(e.Data).RootElement)));
        }
    }

    [Fact]
    public async Task Customer_deletes_racing_patches_write_one_event_per_answered_change()
    {
        var (_, client) = await SignInAsync();
        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add(await CreateCustomerAsync(client));
        }

        var answers = await Race.RunAsync(ids.SelectMany(id => Enumerable.Range(0, 8).Select(i => (id, i < 2 ? HttpMethod.Delete : HttpMethod.Patch,
            Race.Send(() => i < 2 ? client.DeleteAsync($"/customers/{id}") : client.SendAsync(Patch($"/customers/{id}", $$"""{"reference_id":"race-{{i}}"}""")))))));

        var events = await StoredEventsAsync();
        foreach (var id in ids)
        {
            var mine = answers.Where(a => a.Id == id).ToList();
            Assert.Equal(1, mine.Count(a => a.Method == HttpMethod.Delete && a.Status == HttpStatusCode.Accepted));
            Assert.Equal(1, mine.Count(a => a.Method == HttpMethod.Delete && a.Status == HttpStatusCode.NotFound));
            var ofCustomer = events.Where(e => e.ObjectId == id).ToList();
            Assert.Equal(mine.Count(a => a.Method == HttpMethod.Patch && a.Status == HttpStatusCode.Accepted), ofCustomer.Count(e => e.Type == "customer.update"));
            Assert.Equal("customer.delete", ofCustomer[^1].Type);
            Assert.Equal(1, ofCustomer.Count(e => e.Type == "customer.delete"));
        }

        Assert.Equal(0, await CountMineAsync(db => db.Customers));
    }

    private static void AssertRefused((string Id, HttpMethod Method, HttpStatusCode Status, JsonElement Body) answer, string code)
    {
        Assert.Equal(code.EndsWith("_in_use", StringComparison.Ordinal) ? HttpStatusCode.Conflict : HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal(code, answer.Body.GetProperty("code").GetString());
    }
}
