using System.Net;
using System.Text.Json;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Flatpeak.Devices.Tests.Events;

public sealed class EventTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task Create_update_and_delete_each_record_an_event_with_the_device()
    {
        var (account, client) = await SignInAsync();
        var created = await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(await CreateLocationAsync(client)));
        var id = created.GetProperty("id").GetString();
        using var patch = await client.PatchAsync($"/devices/{id}", new StringContent("""{"model_name":"Pico Max"}""", System.Text.Encoding.UTF8, "application/json"));
        var updated = await ReadJsonAsync(patch);
        using var delete = await client.DeleteAsync($"/devices/{id}");

        using var response = await client.GetAsync($"/events?object_id={id}");

        var list = await ReadJsonAsync(response);
        Assert.Equal("/events", list.GetProperty("url").GetString());
        var events = list.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["device.delete", "device.update", "device.create"], events.Select(e => e.GetProperty("type").GetString()));
        foreach (var e in events)
        {
            Assert.Equal(["id", "object", "live_mode", "account_id", "type", "api_version", "time_created", "data"], e.EnumerateObject().Select(p => p.Name));
            Assert.Equal("2026-08-01.busbar", e.GetProperty("api_version").GetString());
            Assert.Matches("^evt_[0-9a-f]{24}$", e.GetProperty("id").GetString());
            Assert.Equal("event", e.GetProperty("object").GetString());
            Assert.False(e.GetProperty("live_mode").GetBoolean());
            Assert.Equal(account.AccountId, e.GetProperty("account_id").GetString());
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", e.GetProperty("time_created").GetString());
        }

        Assert.True(JsonElement.DeepEquals(created, events[2].GetProperty("data")));
        Assert.True(JsonElement.DeepEquals(updated, events[1].GetProperty("data")));
        Assert.True(JsonElement.DeepEquals(updated, events[0].GetProperty("data")));

        using var one = await client.GetAsync($"/events/{events[1].GetProperty("id").GetString()}");
        Assert.True(JsonElement.DeepEquals(events[1], await ReadJsonAsync(one)));
    }

    [Fact]
    public async Task Events_filter_by_type_and_page_like_every_list()
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);
        for (var i = 0; i < 3; i++)
        {
            var id = (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(location))).GetProperty("id").GetString();
            using var _ = await client.DeleteAsync($"/devices/{id}");
        }

        using var creates = await client.GetAsync("/events?type=device.create&limit=2");
        var page = await ReadJsonAsync(creates);
        Assert.Equal(["device.create", "device.create"], page.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("type").GetString()));
        Assert.True(page.GetProperty("has_more").GetBoolean());

        using var bad = await client.GetAsync("/events?type=device.explode");
        await AssertErrorAsync(bad, HttpStatusCode.BadRequest, "api.event_list", "type_invalid", "type");
    }

    [Fact]
    public async Task A_patch_that_changes_nothing_records_no_event()
    {
        var (_, client) = await SignInAsync();
        var id = (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(await CreateLocationAsync(client)))).GetProperty("id").GetString();

        using var patch = await client.PatchAsync($"/devices/{id}", new StringContent("""{"model_name":"Pico Ultimate"}""", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        using var events = await client.GetAsync($"/events?object_id={id}");
        Assert.Single((await ReadJsonAsync(events)).GetProperty("data").EnumerateArray());
    }

    [Fact]
    public async Task Events_of_another_account_or_mode_are_invisible()
    {
        var (acme, acmeTest) = await SignInAsync(name: "Acme");
        var (_, globex) = await SignInAsync(name: "Globex");
        using var acmeLive = Api.Client(await Api.LoginAsync(acme.AccountId, acme.LiveKey));
        await CreateDeviceAsync(acmeTest, CreateDeviceTests.SeedBody(await CreateLocationAsync(acmeTest)));
        using var mine = await acmeTest.GetAsync("/events?type=device.create");
        var eventId = (await ReadJsonAsync(mine)).GetProperty("data")[0].GetProperty("id").GetString();

        foreach (var (client, live) in new[] { (globex, false), (acmeLive, true) })
        {
            using var list = await client.GetAsync("/events");
            Assert.Empty((await ReadJsonAsync(list)).GetProperty("data").EnumerateArray());
            using var get = await client.GetAsync($"/events/{eventId}");
            await AssertErrorAsync(get, HttpStatusCode.NotFound, "api.event_get", "event_not_found", "id", live);
        }
    }

    [Fact]
    public async Task When_the_event_cannot_be_stored_the_device_is_not_stored_either()
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);
        await using var scope = Api.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DevicesDbContext>();
        // Make the database refuse this one event, after the device row has been written in the same transaction.
        await db.Database.ExecuteSqlRawAsync("""
            CREATE FUNCTION refuse_marked_event() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.data->>'reference_id' = 'REFUSE-EVENT' THEN RAISE EXCEPTION 'event refused by the test'; END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_marked_event BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_marked_event();
            """);
        try
        {
            using var response = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(location).Replace("DEV1234567890", "REFUSE-EVENT", StringComparison.Ordinal));

            var error = await AssertErrorAsync(response, HttpStatusCode.InternalServerError, "api.device_create", "internal_error");
            Assert.DoesNotContain("refused", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            await AssertNoDevicesAsync();
        }
        finally
        {
            // Dropping a trigger needs events (every partition) to itself. Taken without queueing (NOWAIT, tried again),
            // the drop never stands in the lock queue in front of the service's own readers of events.
            await Wait.UntilAsync(
                async () =>
                {
                    await using var connection = new Npgsql.NpgsqlConnection(Api.Postgres.ConnectionString);
                    await connection.OpenAsync();
                    await using var transaction = await connection.BeginTransactionAsync();
                    try
                    {
                        await using var drop = new Npgsql.NpgsqlCommand(
                            "LOCK TABLE events IN ACCESS EXCLUSIVE MODE NOWAIT; DROP TRIGGER refuse_marked_event ON events; DROP FUNCTION refuse_marked_event();",
                            connection, transaction);
                        await drop.ExecuteNonQueryAsync();
                        await transaction.CommitAsync();
                        return true;
                    }
                    catch (Npgsql.PostgresException e) when (e.SqlState == Npgsql.PostgresErrorCodes.LockNotAvailable)
                    {
                        await transaction.RollbackAsync();
                        return false;
                    }
                },
                TimeSpan.FromSeconds(30),
                "events to itself, to drop the test's trigger");
        }
    }
}
