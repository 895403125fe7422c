using System.Net;
using System.Text;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Data.Partitions;
using Flatpeak.Devices.Api.DeviceStates;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Flatpeak.Devices.Tests.DeviceStates;

/// <summary>Retention of state records, on a database of its own and a clock the test moves: no sleeping.</summary>
public sealed class DeviceStateRetentionTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task Past_the_retention_a_record_is_not_served_then_its_month_is_dropped_and_a_younger_one_is_kept()
    {
        await using var clocked = await ClockedServiceAsync("retention");
        var (service, database, clock, client) = clocked;
        var device = (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(await CreateLocationAsync(client)))).GetProperty("id").GetString()!;
        var now = clock.GetUtcNow();
        var old = now.AddDays(-399);
        var young = now.AddDays(-10);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(client, device, old, "old")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(client, device, young, "young")).StatusCode);

        // 60 days on, the old record is past the 400 days: not served at once, refused if sent again, and its month dropped.
        clock.Offset = TimeSpan.FromDays(60);
        Assert.Equal(["young"], await ReferencesListedAsync(client, device));
        var refused = await PutAsync(client, device, old, "old-again");
        await AssertErrorAsync(refused, HttpStatusCode.BadRequest, "api.device_state_submit", "time_invalid", "time");

        var partitions = service.Services.GetRequiredService<PartitionMaintenance>();
        // A transaction still reading device_states: making and dropping partitions give up after their lock timeout
        // rather than hold up every submission queued behind them, and the next maintenance does the work.
        await using (var reader = new NpgsqlConnection(database))
        {
            await reader.OpenAsync();
            await using var transaction = await reader.BeginTransactionAsync();
            await using var read = new NpgsqlCommand("SELECT count(*) FROM device_states", reader, transaction);
            await read.ExecuteScalarAsync();
            Assert.DoesNotContain(await partitions.MaintainAsync(CancellationToken.None), p => p.StartsWith("device_states_", StringComparison.Ordinal));
            Assert.Contains($"device_states_p{old.UtcDateTime:yyyyMM}", await Sql.TextsAsync(
                database, "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'device_states'::regclass"));
        }

        var dropped = await partitions.MaintainAsync(CancellationToken.None);

        Assert.Contains($"device_states_p{old.UtcDateTime:yyyyMM}", dropped);
        Assert.DoesNotContain($"device_states_p{young.UtcDateTime:yyyyMM}", dropped);
        await using var scope = service.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DevicesDbContext>();
        Assert.Equal(["young"], await db.DeviceStates.Select(s => s.RecordReferenceId).ToListAsync());
        Assert.Equal(["young"], await db.DeviceStateReferences.Select(r => r.RecordReferenceId).ToListAsync());
        Assert.Equal(["young"], await ReferencesListedAsync(client, device));
        // The months ahead exist, so a record of the moved clock's now is stored.
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(client, device, clock.GetUtcNow(), "now")).StatusCode);
    }

    private static Task<HttpResponseMessage> PutAsync(HttpClient client, string device, DateTimeOffset time, string reference) =>
        client.PutAsync($"/devices/{device}/state", new StringContent(
            $$"""{"time":"{{time.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}}","state_of_charge_percent":50,"target_state_of_charge_percent":80,"record_reference_id":"{{reference}}"}""",
            Encoding.UTF8, "application/json"));

    private static async Task<List<string>> ReferencesListedAsync(HttpClient client, string device) =>
        [.. (await ReadJsonAsync(await client.GetAsync($"/devices/{device}/states"))).GetProperty("data").EnumerateArray()
            .Select(s => s.GetProperty("record_reference_id").GetString()!)];
}
