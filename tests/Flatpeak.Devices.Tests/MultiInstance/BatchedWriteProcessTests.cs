using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Npgsql;

namespace Flatpeak.Devices.Tests.MultiInstance;

/// <summary>Batched device creates in service processes: a kill -9 with batches in flight, and two instances racing location deletes.</summary>
[Collection(ProcessesGroup.Name)]
public sealed class BatchedWriteProcessTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task A_kill_with_batches_in_flight_leaves_every_acknowledged_device_stored_once_and_every_stored_one_replayable()
    {
        var database = await Api.NewDatabaseAsync("batchkill");
        var first = ServiceProcess.StartServer(database);
        await first.WaitUntilReadyAsync();
        var token = await first.NewAccountTokenAsync(database, "Batches");
        using var firstClient = first.Client(token);
        var location = await CreateLocationAsync(firstClient);

        // 32 senders, each key used once and named in its device's reference_id, so that rows and keys can be matched.
        var acknowledged = new ConcurrentDictionary<string, string>();
        var unanswered = new ConcurrentBag<string>();
        var enough = new TaskCompletionSource();
        var senders = Enumerable.Range(0, 32).Select(sender => Task.Run(async () =>
        {
            for (var n = 0; ; n++)
            {
                var key = $"K{sender}x{n}";
                try
                {
                    using var response = await SendKeyedAsync(firstClient, key, location);
                    Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                    acknowledged[key] = (await ReadJsonAsync(response)).GetProperty("id").GetString()!;
                    if (acknowledged.Count >= 300)
                    {
                        enough.TrySetResult();
                    }
                }
                catch (HttpRequestException)
                {
                    unanswered.Add(key);
                    return;
                }
            }
        })).ToList();
        await enough.Task.WaitAsync(TimeSpan.FromSeconds(120));
        await first.DisposeAsync();
        await Task.WhenAll(senders);

        await using var second = ServiceProcess.StartServer(database);
        await second.WaitUntilReadyAsync();
        using var secondClient = second.Client(token);
        var stored = await StoredAsync(database);
        // Every acknowledged device is stored, once, with its key's replay; every stored device can be replayed.
        Assert.All(acknowledged, a => Assert.Equal(a.Value, Assert.Single(stored, s => s.Key == a.Key).DeviceId));
        Assert.All(stored, s => Assert.Equal(s.DeviceId, s.ReplayId));
        Assert.All(stored, s => Assert.Equal(1, s.Events));
        Assert.Equal(stored.Count, stored.Select(s => s.Key).Distinct().Count());
        // A retry of a request the kill left unanswered replays its device if it was stored; its key is still held if
        // the request reached the service and stored nothing; and it runs now if the request never reached the service.
        var held = (await Sql.TextsAsync(database, "SELECT key FROM idempotency_keys WHERE response_status IS NULL")).ToHashSet(StringComparer.Ordinal);
        foreach (var key in unanswered)
        {
            using var retry = await SendKeyedAsync(secondClient, key, location);
            if (stored.Any(s => s.Key == key))
            {
                Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
                Assert.Equal(stored.Single(s => s.Key == key).DeviceId, (await ReadJsonAsync(retry)).GetProperty("id").GetString());
            }
            else if (held.Contains(key))
            {
                await AssertErrorAsync(retry, HttpStatusCode.Conflict, "api.device_create", "idempotency_key_in_use", "Idempotency-Key");
            }
            else
            {
                Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
                Assert.Equal(1, await Sql.LongAsync(database, $"SELECT count(*) FROM devices WHERE reference_id = '{key}'"));
            }
        }

        Assert.Equal(
            stored.Count + unanswered.Count(k => !held.Contains(k) && stored.All(s => s.Key != k)),
            await Sql.LongAsync(database, "SELECT count(*) FROM devices"));
    }

    [Fact]
    public async Task Two_instances_racing_location_deletes_against_batched_creates_never_leave_a_device_at_a_deleted_location()
    {
        var database = await Api.NewDatabaseAsync("batchrefs");
        await using var a = ServiceProcess.StartServer(database);
        await using var b = ServiceProcess.StartServer(database);
        await Task.WhenAll(a.WaitUntilReadyAsync(), b.WaitUntilReadyAsync());
        var token = await a.NewAccountTokenAsync(database, "Batches");
        using var clientA = a.Client(token);
        using var clientB = b.Client(token);
        var locations = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            locations.Add(await CreateLocationAsync(clientA));
        }

        var answers = await Race.RunAsync(locations.SelectMany(l =>
            Enumerable.Range(0, 6).Select(i => (l, HttpMethod.Post, Race.Send(() => PostJsonAsync(i % 2 == 0 ? clientA : clientB, "/devices", CreateDeviceTests.SeedBody(l))))))
            .Concat(locations.Select(l => (l, HttpMethod.Delete, Race.Send(() => clientB.DeleteAsync($"/locations/{l}"))))));

        Assert.Equal(0, await Sql.LongAsync(database, """
            SELECT count(*) FROM devices d, unnest(d.locations) AS l(id)
            WHERE NOT EXISTS (SELECT FROM locations x WHERE x.account_id = d.account_id AND x.live_mode = d.live_mode AND x.id = l.id)
            """));
        foreach (var location in locations)
        {
            var mine = answers.Where(r => r.Id == location).ToList();
            var created = mine.Count(r => r.Method == HttpMethod.Post && r.Status == HttpStatusCode.Created);
            var delete = mine.Single(r => r.Method == HttpMethod.Delete);
            Assert.Equal(created, await Sql.LongAsync(database, $"SELECT count(*) FROM device_locations WHERE location_id = '{location}'"));
            if (delete.Status == HttpStatusCode.Accepted)
            {
                Assert.Equal(0, created);
                Assert.All(mine.Where(r => r.Method == HttpMethod.Post), r => Assert.Equal("location_not_found", r.Body.GetProperty("code").GetString()));
            }
            else
            {
                Assert.Equal("location_in_use", delete.Body.GetProperty("code").GetString());
                Assert.True(created > 0);
            }
        }

        Assert.Equal(
            await Sql.LongAsync(database, "SELECT count(*) FROM devices"),
            await Sql.LongAsync(database, "SELECT count(*) FROM events WHERE type = 'device.create'"));
    }

    /// <summary>A create whose Idempotency-Key is also its device's reference_id, so that rows and keys can be matched.</summary>
    private static Task<HttpResponseMessage> SendKeyedAsync(HttpClient client, string key, string location) =>
        PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(location).Replace("DEV1234567890", key, StringComparison.Ordinal), key);

    /// <summary>Every stored device: its key (its reference_id), its id, the id its key replays, and how many create events it has.</summary>
    private static async Task<List<(string Key, string DeviceId, string? ReplayId, long Events)>> StoredAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT d.reference_id, d.id,
                   (SELECT k.response_body::json ->> 'id' FROM idempotency_keys k
                    WHERE k.account_id = d.account_id AND k.live_mode = d.live_mode AND k.key = d.reference_id AND k.response_status = 201),
                   (SELECT count(*) FROM events e WHERE e.account_id = d.account_id AND e.object_id = d.id AND e.type = 'device.create')
            FROM devices d
            """, connection);
        var stored = new List<(string, string, string?, long)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            stored.Add((reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt64(3)));
        }

        return stored;
    }
}
