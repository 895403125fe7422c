using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.DeviceStates;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Flatpeak.Devices.Tests.DeviceStates;

/// <summary>Flatpeak's <c>PUT/GET /devices/{id}/state</c> and our history, through real HTTP and PostgreSQL.</summary>
public sealed class DeviceStateTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    private static readonly string[] SubmittedFields = ["id", "object", "device_id", "account_id", "live_mode", "time_created"];

    private static readonly string[] StateFields =
    [
        "id", "object", "device_id", "account_id", "live_mode", "location_id", "time", "state_of_charge_percent",
        "target_state_of_charge_percent", "battery_power_kw", "energy_remaining_kwh", "backup_reserve_percent",
        "energy_flow_direction", "record_reference_id", "time_created",
    ];

    [Fact]
    public async Task A_submission_answers_its_record_which_GET_shows_with_every_field_and_last_seen_moves()
    {
        var (account, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);
        var device = await DeviceAsync(client, location);
        var time = Now().AddMinutes(-3);

        using var submitted = await PutAsync(client, device, Body(time, 41.5, location: location, reference: "rec-1", power: -2.5));

        Assert.Equal(HttpStatusCode.OK, submitted.StatusCode);
        var answer = await ReadJsonAsync(submitted);
        Assert.Equal(SubmittedFields, answer.EnumerateObject().Select(p => p.Name));
        Assert.Matches("^dsr_[0-9a-f]{24}$", answer.GetProperty("id").GetString());
        Assert.Equal("device_state", answer.GetProperty("object").GetString());
        Assert.Equal(device, answer.GetProperty("device_id").GetString());
        Assert.Equal(account.AccountId, answer.GetProperty("account_id").GetString());
        Assert.False(answer.GetProperty("live_mode").GetBoolean());
        var created = answer.GetProperty("time_created").GetDateTimeOffset();
        Assert.InRange(created, Now().AddMinutes(-1), Now().AddMinutes(1));

        var state = await GetStateAsync(client, device);
        Assert.Equal(StateFields, state.EnumerateObject().Select(p => p.Name));
        Assert.Equal(answer.GetProperty("id").GetString(), state.GetProperty("id").GetString());
        Assert.Equal(location, state.GetProperty("location_id").GetString());
        Assert.Equal(time, state.GetProperty("time").GetDateTimeOffset());
        Assert.Equal(41.5, state.GetProperty("state_of_charge_percent").GetDouble());
        Assert.Equal(80, state.GetProperty("target_state_of_charge_percent").GetDouble());
        Assert.Equal(-2.5, state.GetProperty("battery_power_kw").GetDouble());
        Assert.Equal(10, state.GetProperty("energy_remaining_kwh").GetDouble());
        Assert.Equal(20, state.GetProperty("backup_reserve_percent").GetDouble());
        Assert.Equal("EXPORT", state.GetProperty("energy_flow_direction").GetString());
        Assert.Equal("rec-1", state.GetProperty("record_reference_id").GetString());
        Assert.Equal(created, state.GetProperty("time_created").GetDateTimeOffset());

        var seen = (await ReadJsonAsync(await client.GetAsync($"/devices/{device}"))).GetProperty("last_seen").GetDateTimeOffset();
        Assert.Equal(created, seen);
        // Telemetry is not a change of the device: no event.
        Assert.DoesNotContain(await StoredEventsAsync(), e => e.Type == "device.update");
    }

    [Fact]
    public async Task GET_state_is_the_newest_time_not_the_latest_to_arrive_and_404_before_any()
    {
        var (_, client) = await SignInAsync();
        var device = await DeviceAsync(client, await CreateLocationAsync(client));
        using (var none = await client.GetAsync($"/devices/{device}/state"))
        {
            await AssertErrorAsync(none, HttpStatusCode.NotFound, "api.device_state_get", "device_state_not_found");
        }

        var newest = Now().AddMinutes(-1);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(client, device, Body(newest, 60))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(client, device, Body(newest.AddHours(-2), 10))).StatusCode);

        var state = await GetStateAsync(client, device);
        Assert.Equal(newest, state.GetProperty("time").GetDateTimeOffset());
        Assert.Equal(60, state.GetProperty("state_of_charge_percent").GetDouble());
    }

    [Fact]
    public async Task A_record_reference_id_again_stores_nothing_and_answers_the_first_record_and_with_other_values_is_422()
    {
        var (_, client) = await SignInAsync();
        var device = await DeviceAsync(client, await CreateLocationAsync(client));
        var body = Body(Now().AddMinutes(-1), 55, reference: "buffered-17");

        var first = await ReadJsonAsync(await PutAsync(client, device, body));
        var again = await ReadJsonAsync(await PutAsync(client, device, body));
        using var other = await PutAsync(client, device, Body(Now().AddMinutes(-1), 56, reference: "buffered-17"));

        Assert.Equal(first.GetProperty("id").GetString(), again.GetProperty("id").GetString());
        Assert.Equal(first.GetProperty("time_created").GetDateTimeOffset(), again.GetProperty("time_created").GetDateTimeOffset());
        await AssertErrorAsync(other, HttpStatusCode.UnprocessableEntity, "api.device_state_submit", "record_reference_id_reused", "record_reference_id");
        Assert.Equal(1, await CountMineAsync(db => db.DeviceStates));
    }

    [Theory]
    [InlineData("state_of_charge_percent", "0", null)]
    [InlineData("state_of_charge_percent", "100", null)]
    [InlineData("state_of_charge_percent", "-0.001", "state_of_charge_percent_invalid")]
    [InlineData("state_of_charge_percent", "100.001", "state_of_charge_percent_invalid")]
    [InlineData("target_state_of_charge_percent", "100.001", "target_state_of_charge_percent_invalid")]
    [InlineData("backup_reserve_percent", "100", null)]
    [InlineData("backup_reserve_percent", "-1", "backup_reserve_percent_invalid")]
    [InlineData("energy_remaining_kwh", "0", null)]
    [InlineData("energy_remaining_kwh", "-0.5", "energy_remaining_kwh_invalid")]
    [InlineData("energy_flow_direction", "\"IMPORT\"", null)]
    [InlineData("energy_flow_direction", "\"SIDEWAYS\"", "energy_flow_direction_invalid")]
    [InlineData("record_reference_id", "\"\"", "record_reference_id_invalid")]
    [InlineData("location_id", "\"nope\"", "location_id_invalid")]
    public async Task Each_limit_is_accepted_at_its_edge_and_refused_just_outside(string field, string value, string? code)
    {
        var (_, client) = await SignInAsync();
        var device = await DeviceAsync(client, await CreateLocationAsync(client));
        var body = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(Body(Now().AddMinutes(-1), 50))!;
        body[field] = JsonDocument.Parse(value).RootElement;

        using var response = await PutAsync(client, device, JsonSerializer.Serialize(body));

        if (code is null)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        else
        {
            await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_state_submit", code, field);
        }
    }

    [Theory]
    [InlineData(4, null)]
    [InlineData(6, "time_invalid")]
    [InlineData(-399 * 24 * 60, null)]
    [InlineData(-401 * 24 * 60, "time_invalid")]
    public async Task A_time_more_than_5_minutes_ahead_or_older_than_the_retention_is_refused(int minutesFromNow, string? code)
    {
        var (_, client) = await SignInAsync();
        var device = await DeviceAsync(client, await CreateLocationAsync(client));

        using var response = await PutAsync(client, device, Body(Now().AddMinutes(minutesFromNow), 50));

        if (code is null)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        else
        {
            await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.device_state_submit", code, "time");
        }
    }

    [Fact]
    public async Task Required_fields_are_named_and_a_location_not_the_device_s_is_refused()
    {
        var (_, client) = await SignInAsync();
        var device = await DeviceAsync(client, await CreateLocationAsync(client));
        var elsewhere = await CreateLocationAsync(client);

        await AssertErrorAsync(await PutAsync(client, device, """{"state_of_charge_percent":1,"target_state_of_charge_percent":2}"""),
            HttpStatusCode.BadRequest, "api.device_state_submit", "time_missing", "time");
        await AssertErrorAsync(await PutAsync(client, device, $$"""{"time":"{{Stamp(Now())}}","target_state_of_charge_percent":2}"""),
            HttpStatusCode.BadRequest, "api.device_state_submit", "state_of_charge_percent_missing", "state_of_charge_percent");
        await AssertErrorAsync(await PutAsync(client, device, Body(Now(), 5, location: elsewhere)),
            HttpStatusCode.BadRequest, "api.device_state_submit", "location_not_found", "location_id");
        Assert.Equal(0, await CountMineAsync(db => db.DeviceStates));
    }

    [Fact]
    public async Task Another_account_s_device_or_the_other_mode_s_is_not_found()
    {
        var (account, client) = await SignInAsync();
        var device = await DeviceAsync(client, await CreateLocationAsync(client));
        var (_, stranger) = await SignInAsync();
        using var live = Api.Client(await Api.LoginAsync(account.AccountId, account.LiveKey));

        await AssertErrorAsync(await PutAsync(stranger, device, Body(Now(), 5)), HttpStatusCode.NotFound, "api.device_state_submit", "device_not_found", "id");
        await AssertErrorAsync(await PutAsync(live, device, Body(Now(), 5)), HttpStatusCode.NotFound, "api.device_state_submit", "device_not_found", "id", liveMode: true);
        await AssertErrorAsync(await stranger.GetAsync($"/devices/{device}/state"), HttpStatusCode.NotFound, "api.device_state_get", "device_not_found", "id");
        await AssertErrorAsync(await stranger.GetAsync($"/devices/{device}/states"), HttpStatusCode.NotFound, "api.device_state_list", "device_not_found", "id");
        Assert.Equal(0, await CountMineAsync(db => db.DeviceStates));
    }

    [Fact]
    public async Task The_history_pages_newest_time_first_across_monthly_partitions_both_ways_and_filters_by_time()
    {
        var (_, client) = await SignInAsync();
        var device = await DeviceAsync(client, await CreateLocationAsync(client));
        var month = new DateTimeOffset(Now().Year, Now().Month, 1, 0, 0, 0, TimeSpan.Zero);
        // Three months' partitions: arrival order shuffled.
        DateTimeOffset[] times = [month.AddSeconds(-1), month.AddDays(-40), month.AddDays(-20), month.AddSeconds(-1).AddDays(-1), month.AddDays(-45), Now().AddMinutes(-1)];
        var ids = new Dictionary<DateTimeOffset, string>();
        foreach (var time in times)
        {
            ids[time] = (await ReadJsonAsync(await PutAsync(client, device, Body(time, 50)))).GetProperty("id").GetString()!;
        }

        var expected = times.OrderDescending().Select(t => ids[t]).ToList();
        // Each page size: a page read from the recent month first, then from older ones, has has_more right either way.
        foreach (var limit in new[] { 1, 2, 3, 5, 6, 100 })
        {
            var seen = new List<string>();
            string? after = null;
            do
            {
                var page = await ReadJsonAsync(await client.GetAsync($"/devices/{device}/states?limit={limit}{(after is null ? "" : "&starting_after=" + after)}"));
                Assert.Equal("list", page.GetProperty("object").GetString());
                Assert.Equal($"/devices/{device}/states", page.GetProperty("url").GetString());
                var data = page.GetProperty("data").EnumerateArray().Select(s => s.GetProperty("id").GetString()!).ToList();
                seen.AddRange(data);
                Assert.Equal(seen.Count < expected.Count, page.GetProperty("has_more").GetBoolean());
                after = page.GetProperty("has_more").GetBoolean() ? data[^1] : null;
            }
            while (after is not null);

            Assert.Equal(expected, seen);
        }

        var newer = await ReadJsonAsync(await client.GetAsync($"/devices/{device}/states?limit=2&ending_before={expected[3]}"));
        Assert.Equal(expected[1..3], newer.GetProperty("data").EnumerateArray().Select(s => s.GetProperty("id").GetString()!));
        Assert.True(newer.GetProperty("has_more").GetBoolean());
        var newest = await ReadJsonAsync(await client.GetAsync($"/devices/{device}/states?limit=2&ending_before={expected[1]}"));
        Assert.Equal([expected[0]], newest.GetProperty("data").EnumerateArray().Select(s => s.GetProperty("id").GetString()!));
        Assert.False(newest.GetProperty("has_more").GetBoolean());
        var otherDevice = await DeviceAsync(client, await CreateLocationAsync(client));
        var foreignCursor = await client.GetAsync($"/devices/{otherDevice}/states?starting_after={expected[2]}");
        await AssertErrorAsync(foreignCursor, HttpStatusCode.BadRequest, "api.device_state_list", "starting_after_invalid", "starting_after");
        var window = await ReadJsonAsync(await client.GetAsync(
            $"/devices/{device}/states?time_from={Uri.EscapeDataString(Stamp(month.AddDays(-41)))}&time_to={Uri.EscapeDataString(Stamp(month.AddDays(-1)))}"));
        Assert.Equal(
            times.Where(t => t >= month.AddDays(-41) && t <= month.AddDays(-1)).OrderDescending().Select(t => ids[t]),
            window.GetProperty("data").EnumerateArray().Select(s => s.GetProperty("id").GetString()!));
    }

    [Fact]
    public async Task Racing_submissions_are_each_stored_once_GET_shows_the_greatest_time_and_last_seen_never_moves_back()
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);
        var one = await DeviceAsync(client, location);
        var many = new List<string>();
        for (var i = 0; i < 32; i++)
        {
            many.Add(await DeviceAsync(client, location));
        }

        var start = Now().AddMinutes(-30);
        var sent = Enumerable.Range(0, 32).Select(i => (Device: one, Time: start.AddSeconds(i * 7 % 32)))
            .Concat(many.Select((d, i) => (Device: d, Time: start.AddSeconds(i))))
            .ToList();
        var answers = await Task.WhenAll(sent.Select(async s =>
        {
            using var response = await PutAsync(client, s.Device, Body(s.Time, 50));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (s.Device, s.Time, Id: (await ReadJsonAsync(response)).GetProperty("id").GetString()!);
        }));

        await using var scope = Api.Factory.Services.CreateAsyncScope();
        var stored = await Mine(scope.ServiceProvider.GetRequiredService<DevicesDbContext>().DeviceStates).ToListAsync();
        Assert.Equal(answers.Select(a => a.Id).Order(StringComparer.Ordinal), stored.Select(s => s.Id).Order(StringComparer.Ordinal));
        foreach (var device in many.Append(one))
        {
            var greatest = answers.Where(a => a.Device == device).MaxBy(a => a.Time);
            Assert.Equal(greatest.Id, (await GetStateAsync(client, device)).GetProperty("id").GetString());
        }

        var lastSeen = (await ReadJsonAsync(await client.GetAsync($"/devices/{one}"))).GetProperty("last_seen").GetDateTimeOffset();
        Assert.Equal(stored.Where(s => s.DeviceId == one).Max(s => s.TimeCreated), lastSeen, TimeSpan.FromMinutes(1));
        // An older submission arriving later never moves last_seen backwards.
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(client, one, Body(start.AddDays(-1), 5))).StatusCode);
        Assert.True((await ReadJsonAsync(await client.GetAsync($"/devices/{one}"))).GetProperty("last_seen").GetDateTimeOffset() >= lastSeen);
    }

    [Fact]
    public async Task The_statement_stores_a_new_record_s_answer_as_its_Idempotency_Key_s_replay_in_its_own_commit()
    {
        var (account, client) = await SignInAsync();
        var device = await DeviceAsync(client, await CreateLocationAsync(client));
        var connection = Api.Postgres.ConnectionString;
        // The claim the Idempotency-Key filter makes; then the statement alone, with no filter after it to store anything.
        await Sql.ExecuteAsync(connection, $"""
            INSERT INTO idempotency_keys (account_id, live_mode, key, request_hash, time_created, locked_at, claim_token)
            VALUES ('{account.AccountId}', false, 'in-the-statement', '\x00', now(), now(), gen_random_uuid())
            """);
        var now = DateTimeOffset.UtcNow;
        var state = new DeviceState
        {
            AccountId = account.AccountId,
            LiveMode = false,
            DeviceId = device,
            Time = now,
            Id = ObjectIds.New(ObjectIds.DeviceState, now),
            StateOfChargePercent = 50,
            TargetStateOfChargePercent = 80,
            TimeCreated = now,
        };
        var answer = $$"""{"id":"{{state.Id}}"}""";
        await using var dataSource = NpgsqlDataSource.Create(connection);
        await using var open = await dataSource.OpenConnectionAsync();

        var outcomes = await new DeviceStateWrites().WriteAsync(open, [new DeviceStateSubmission(state, [1], answer, "in-the-statement")], CancellationToken.None);

        Assert.Equal(DeviceStateOutcome.Created, Assert.Single(outcomes).Result);
        Assert.Equal([$"200 {answer}"], await Sql.TextsAsync(connection,
            $"SELECT response_status || ' ' || response_body FROM idempotency_keys WHERE account_id = '{account.AccountId}' AND key = 'in-the-statement'"));
    }

    [Fact]
    public async Task Deleting_a_device_deletes_its_states()
    {
        var (_, client) = await SignInAsync();
        var device = await DeviceAsync(client, await CreateLocationAsync(client));
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(client, device, Body(Now(), 5, reference: "r"))).StatusCode);

        Assert.Equal(HttpStatusCode.Accepted, (await client.DeleteAsync($"/devices/{device}")).StatusCode);

        Assert.Equal(0, await CountMineAsync(db => db.DeviceStates));
        Assert.Equal(0, await CountMineAsync(db => db.DeviceStateReferences));
    }

    /// <summary>The service's clock, to the microsecond (what PostgreSQL keeps).</summary>
    private DateTimeOffset Now()
    {
        var now = Api.Factory.Services.GetRequiredService<TimeProvider>().GetUtcNow();
        return now.AddTicks(-(now.Ticks % 10));
    }

    private static string Stamp(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture);

    private static string Body(DateTimeOffset time, double stateOfCharge, string? location = null, string? reference = null, double power = 1.5) =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["time"] = Stamp(time),
            ["state_of_charge_percent"] = stateOfCharge,
            ["target_state_of_charge_percent"] = 80,
            ["battery_power_kw"] = power,
            ["energy_remaining_kwh"] = 10,
            ["backup_reserve_percent"] = 20,
            ["energy_flow_direction"] = "EXPORT",
            ["record_reference_id"] = reference,
            ["location_id"] = location,
        });

    private static async Task<string> DeviceAsync(HttpClient client, string location) =>
        (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(location))).GetProperty("id").GetString()!;

    private static Task<HttpResponseMessage> PutAsync(HttpClient client, string device, string body) =>
        client.PutAsync($"/devices/{device}/state", new StringContent(body, Encoding.UTF8, "application/json"));

    private static async Task<JsonElement> GetStateAsync(HttpClient client, string device)
    {
        using var response = await client.GetAsync($"/devices/{device}/state");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadJsonAsync(response);
    }
}
