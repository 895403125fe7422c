using System.Net;
using System.Text;
using System.Text.Json;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Devices;
using Flatpeak.Devices.Api.Events;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Flatpeak.Devices.Tests.Concurrency;

/// <summary>
/// Writes raced against each other through real HTTP; what was stored and which events were written are counted
/// against the answers the clients got (API.md, "Changes, events and concurrency").
/// </summary>
public sealed class WriteRaceTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task Deletes_racing_patches_write_one_event_per_answered_change_and_none_for_a_404()
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);
        var devices = await CreateDevicesAsync(client, location, 10);

        var answers = await Race.RunAsync(devices.SelectMany(id =>
            Enumerable.Range(0, 8).Select(i => (Id: id, Request: i < 2
                ? new HttpRequestMessage(HttpMethod.Delete, $"/devices/{id}")
                : PatchDevice(id, $$"""{"model_name":"race-{{i}}"}"""))))
            .Select(r => (r.Id, r.Request.Method, Send: Race.Send(() => client.SendAsync(r.Request)))));

        var events = await StoredEventsAsync();
        foreach (var id in devices)
        {
            var mine = answers.Where(a => a.Id == id).ToList();
            Assert.Equal(1, mine.Count(a => a.Method == HttpMethod.Delete && a.Status == HttpStatusCode.Accepted));
            Assert.Equal(1, mine.Count(a => a.Method == HttpMethod.Delete && a.Status == HttpStatusCode.NotFound));
            Assert.All(mine.Where(a => a.Method == HttpMethod.Patch), a => Assert.Contains(a.Status, new[] { HttpStatusCode.OK, HttpStatusCode.NotFound }));
            var ofDevice = events.Where(e => e.ObjectId == id).ToList();
            Assert.Equal(1, ofDevice.Count(e => e.Type == DeviceEndpoints.Kind.DeleteEvent));
            Assert.Equal(mine.Count(a => a.Method == HttpMethod.Patch && a.Status == HttpStatusCode.OK), ofDevice.Count(e => e.Type == DeviceEndpoints.Kind.UpdateEvent));
            // Patched, then deleted: the delete is the last event, and shows the device as the last patch left it.
            Assert.Equal(DeviceEndpoints.Kind.DeleteEvent, ofDevice[^1].Type);
            var beforeDelete = ofDevice[^2];
            Assert.Equal(
                JsonDocument.Parse(beforeDelete.Data).RootElement.GetProperty("model_name").GetString(),
                JsonDocument.Parse(ofDevice[^1].Data).RootElement.GetProperty("model_name").GetString());
        }

        Assert.Equal(0, await CountMineAsync(db => db.Devices));
    }

    [Fact]
    public async Task Parallel_patches_of_one_field_leave_the_newest_event_equal_to_the_stored_device()
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);
        var devices = await CreateDevicesAsync(client, location, 6);

        var answers = await Race.RunAsync(devices.SelectMany(id => Enumerable.Range(0, 12).Select(i =>
            (id, HttpMethod.Patch, Race.Send(() => client.SendAsync(PatchDevice(id, $$"""{"model_name":"value-{{i}}"}""")))))));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        var events = await StoredEventsAsync();
        foreach (var id in devices)
        {
            using var get = await client.GetAsync($"/devices/{id}");
            var stored = await ReadJsonAsync(get);
            var updates = events.Where(e => e.ObjectId == id && e.Type == DeviceEndpoints.Kind.UpdateEvent).ToList();
            // Every patch set a value the device did not have, so each changed it and wrote one event.
            Assert.Equal(12, updates.Count);
            Assert.True(JsonElement.DeepEquals(stored, JsonDocument.Parse(updates[^1].Data).RootElement));
            // Every answer is a state the device really had: the state one of its events shows.
            Assert.All(answers.Where(a => a.Id == id), a =>
                Assert.Contains(updates, e => JsonElement.DeepEquals(a.Body, JsonDocument.Parse(e.Data).RootElement)));
        }
    }

    [Fact]
    public async Task Parallel_patches_of_different_fields_lose_none_and_answer_only_states_the_device_had()
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);
        var id = (await CreateDeviceAsync(client, $$"""{"reference_id":"R","type":"PV_SYSTEM","locations":["{{location}}"]}""")).GetProperty("id").GetString()!;
        string[] patches =
        [
            """{"manufacturer":"M"}""", """{"model_code":"C"}""", """{"model_name":"N"}""", """{"reference_id":"R2"}""",
            """{"properties":{"power_rating_import_kwh":1}}""", """{"properties":{"capacity_kwh":2}}""",
            """{"properties":{"power_rating_export_kwh":3}}""", """{"properties":{"pv_azimuth":4}}""",
            """{"properties":{"pv_tilt":5}}""", """{"properties":{"pv_terrain_shading":true}}""",
            """{"properties":{"pv_forecasts_enabled":true}}""", """{"properties":{"install_date":"2024-01-02T03:04:05Z"}}""",
        ];

        var answers = await Race.RunAsync(patches.Select(p => (id, HttpMethod.Patch, Race.Send(() => client.SendAsync(PatchDevice(id, p))))));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        using var get = await client.GetAsync($"/devices/{id}");
        var stored = await ReadJsonAsync(get);
        Assert.Equal("M", stored.GetProperty("manufacturer").GetString());
        Assert.Equal("C", stored.GetProperty("model_code").GetString());
        Assert.Equal("N", stored.GetProperty("model_name").GetString());
        Assert.Equal("R2", stored.GetProperty("reference_id").GetString());
        var properties = stored.GetProperty("properties");
        Assert.Equal(1, properties.GetProperty("power_rating_import_kwh").GetDouble());
        Assert.Equal(2, properties.GetProperty("capacity_kwh").GetDouble());
        Assert.Equal(3, properties.GetProperty("power_rating_export_kwh").GetDouble());
        Assert.Equal(4, properties.GetProperty("pv_azimuth").GetDouble());
        Assert.Equal(5, properties.GetProperty("pv_tilt").GetDouble());
        Assert.True(properties.GetProperty("pv_terrain_shading").GetBoolean());
        Assert.True(properties.GetProperty("pv_forecasts_enabled").GetBoolean());
        Assert.Equal("2024-01-02T03:04:05Z", properties.GetProperty("install_date").GetString());

        // The events are a chain: each adds exactly one field to the state before it, and each answer is one of them.
        var updates = (await StoredEventsAsync()).Where(e => e.Type == DeviceEndpoints.Kind.UpdateEvent).Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();
        Assert.Equal(patches.Length, updates.Count);
        Assert.True(JsonElement.DeepEquals(stored, updates[^1]));
        for (var i = 0; i < updates.Count; i++)
        {
            Assert.Equal(i + 1, CountSet(updates[i]));
        }

        Assert.All(answers, a => Assert.Contains(updates, e => JsonElement.DeepEquals(a.Body, e)));
    }

    [Fact]
    public async Task A_poller_with_ending_before_receives_every_event_exactly_once_while_16_writers_commit()
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);
        using var first = await client.GetAsync("/events?limit=1");
        var cursor = (await ReadJsonAsync(first)).GetProperty("data")[0].GetProperty("id").GetString()!;
        using var deadline = new CancellationTokenSource(Race.Deadline);

        var writers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 15; i++)
            {
                var id = (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(location))).GetProperty("id").GetString();
                using var patch = await client.SendAsync(PatchDevice(id!, $$"""{"model_name":"w{{w}}-{{i}}"}"""), deadline.Token);
                Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
            }
        })).ToList();
        var allWritten = Task.WhenAll(writers);
        // Everything after the first event (the location's create): 16 writers x 15 x (create + update).
        const int Expected = 16 * 15 * 2;

        var received = new List<string>();
        while (true)
        {
            var writing = !allWritten.IsCompleted;
            while (true)
            {
                using var page = await client.GetAsync($"/events?ending_before={cursor}&limit=7");
                Assert.Equal(HttpStatusCode.OK, page.StatusCode);
                var body = await ReadJsonAsync(page);
                var ids = body.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("id").GetString()!).ToList();
                if (ids.Count == 0)
                {
                    break;
                }

                // Newest first within the page; the poller takes them oldest first and moves its cursor to the newest.
                ids.Reverse();
                received.AddRange(ids);
                cursor = ids[^1];
                if (!body.GetProperty("has_more").GetBoolean())
                {
                    break;
                }
            }

            // After the writers finish, the feed may still hold back its tail while some other transaction runs: keep
            // draining until everything arrived or the deadline passed (the count below then says what is missing).
            if (!writing && (received.Count >= Expected || deadline.IsCancellationRequested))
            {
                break;
            }

            await Task.Delay(5, CancellationToken.None);
        }

        await allWritten;
        Assert.Equal(received.Count, received.Distinct(StringComparer.Ordinal).Count());
        var stored = (await StoredEventsAsync()).Select(e => e.Id).ToList();
        Assert.Equal(Expected, received.Count);
        Assert.Equal(stored.Skip(1).Order(StringComparer.Ordinal), received.Order(StringComparer.Ordinal));
    }

    private static readonly string[] OptionalTexts = ["manufacturer", "model_code", "model_name"];

    private static int CountSet(JsonElement device) =>
        OptionalTexts.Count(f => device.GetProperty(f).ValueKind != JsonValueKind.Null)
        + (device.GetProperty("reference_id").GetString() == "R2" ? 1 : 0)
        + device.GetProperty("properties").EnumerateObject().Count(p => p.Value.ValueKind != JsonValueKind.Null);

    private static HttpRequestMessage PatchDevice(string id, string json) => Patch($"/devices/{id}", json);

    private static async Task<List<string>> CreateDevicesAsync(HttpClient client, string location, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add((await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(location))).GetProperty("id").GetString()!);
        }

        return ids;
    }
}
