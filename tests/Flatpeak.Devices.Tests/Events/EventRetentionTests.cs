using System.Net;
using Flatpeak.Devices.Api.Data.Partitions;
using Flatpeak.Devices.Tests.Infrastructure;
using Flatpeak.Devices.Tests.Webhooks;
using Microsoft.Extensions.DependencyInjection;

namespace Flatpeak.Devices.Tests.Events;

/// <summary>Retention of events (90 days) and their deliveries, on a database of its own and a clock the test moves.</summary>
public sealed class EventRetentionTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Past_90_days_an_event_is_not_served_then_its_month_is_dropped_with_its_deliveries_and_a_younger_one_is_kept()
    {
        await using var clocked = await ClockedServiceAsync("event_retention");
        var (service, database, clock, client) = clocked;
        await using var receiver = await Receiver.StartAsync();
        var webhook = await CreateWebhookAsync(client, receiver.Url("/hook"), ["location.create"]);
        var partitions = service.Services.GetRequiredService<PartitionMaintenance>();

        await CreateLocationAsync(client);
        var old = await EventIdsAsync(client);
        await Wait.UntilAsync(async () => (await DeliveredEventIdsAsync(client, webhook)).Count == 1, Deadline, "the old event's delivery");
        // 60 days on (the months ahead made first), a younger event, and its delivery planned.
        clock.Offset = TimeSpan.FromDays(60);
        await partitions.MaintainAsync(CancellationToken.None);
        await CreateLocationAsync(client);
        var young = (await EventIdsAsync(client)).Except(old).ToList();
        await Wait.UntilAsync(async () => (await DeliveredEventIdsAsync(client, webhook)).Count == 2, Deadline, "the young event's delivery");

        // 125 days after the first: past the 90 days, it is not served at once, then its month goes with its delivery.
        clock.Offset = TimeSpan.FromDays(125);
        Assert.Equal(young, await EventIdsAsync(client));
        using var gone = await client.GetAsync($"/events/{old[0]}");
        await AssertErrorAsync(gone, HttpStatusCode.NotFound, "api.event_get", "event_not_found", "id");
        var dropped = await partitions.MaintainAsync(CancellationToken.None);

        Assert.Contains($"events_p{ObjectIdTime(old[0]):yyyyMM}", dropped);
        Assert.DoesNotContain($"events_p{ObjectIdTime(young[0]):yyyyMM}", dropped);
        Assert.Equal(young, await EventIdsAsync(client));
        Assert.Equal(young, await DeliveredEventIdsAsync(client, webhook));
        Assert.Equal(0, await Sql.LongAsync(database, $"SELECT count(*) FROM events WHERE id = '{old[0]}'"));
    }

    private static DateTimeOffset ObjectIdTime(string id) => Flatpeak.Devices.Api.Common.ObjectIds.TimeOf(id);

    private static async Task<List<string>> EventIdsAsync(HttpClient client) =>
        [.. (await ReadJsonAsync(await client.GetAsync("/events"))).GetProperty("data").EnumerateArray().Select(e => e.GetProperty("id").GetString()!)];

    private static async Task<List<string>> DeliveredEventIdsAsync(HttpClient client, string webhook) =>
        [.. (await ReadJsonAsync(await client.GetAsync($"/webhooks/{webhook}/deliveries"))).GetProperty("data").EnumerateArray()
            .Select(d => d.GetProperty("event_id").GetString()!)];
}
