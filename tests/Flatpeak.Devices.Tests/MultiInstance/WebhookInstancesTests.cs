using System.Net;
using System.Text.Json;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Flatpeak.Devices.Tests.Webhooks;

namespace Flatpeak.Devices.Tests.MultiInstance;

/// <summary>Webhook delivery by service processes sharing one database: each event delivered, by one instance, and nothing lost to a crash.</summary>
[Collection(ProcessesGroup.Name)]
public sealed class WebhookInstancesTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    private static Dictionary<string, string> Settings => ApiFixture.WebhookSettings.ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value);

    [Fact]
    public async Task Two_instances_deliver_every_event_of_200_creates_once()
    {
        await using var receiver = await Receiver.StartAsync();
        var database = await Api.NewDatabaseAsync("hooks2");
        // The production timeout: with two service processes, the test host and PostgreSQL on a loaded CI machine, a
        // 2 s timeout can expire on a healthy receiver and the retry would be a second delivery that is not the engine's fault.
        var settings = Settings;
        settings["Webhooks__TimeoutSeconds"] = "10";
        await using var a = ServiceProcess.StartServer(database, settings);
        await using var b = ServiceProcess.StartServer(database, settings);
        await Task.WhenAll(a.WaitUntilReadyAsync(), b.WaitUntilReadyAsync());
        var token = await a.NewAccountTokenAsync(database, "Hooks");
        using var clientA = a.Client(token);
        using var clientB = b.Client(token);
        await CreateWebhookAsync(clientA, receiver.Url("/fleet"), ["*"]);

        var location = await CreateLocationAsync(clientB);
        var ids = await CreateDevicesOverAsync(clientA, clientB, CreateDeviceTests.SeedBody(location), 200);

        await Wait.UntilAsync(() => ObjectIds(receiver).Distinct().Count() >= 201, Deadline, "every event delivered");
        // A barrier instead of a sleep: one more event, written after all of them, reaches the receiver after every
        // delivery of theirs was made; a duplicate made by the other instance would have come by then.
        var sentinel = await CreateLocationAsync(clientA);
        await Wait.UntilAsync(() => ObjectIds(receiver).Contains(sentinel), Deadline, "the sentinel's delivery");
        var received = ObjectIds(receiver).ToList();
        Assert.Equal(ids.Append(location).Append(sentinel).Order(StringComparer.Ordinal), received.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_instance_killed_between_the_changes_and_their_delivery_loses_nothing()
    {
        await using var receiver = await Receiver.StartAsync();
        // Slow answers: when the instance is killed, most deliveries are still pending or in flight.
        receiver.Answers["/crash"] = _ => (200, TimeSpan.FromMilliseconds(500));
        var database = await Api.NewDatabaseAsync("hookcrash");
        var settings = Settings;
        settings["Webhooks__MaxConcurrentAttemptsPerEndpoint"] = "2";
        var first = ServiceProcess.StartServer(database, settings);
        var ids = new List<string>();
        try
        {
            await first.WaitUntilReadyAsync();
            var token = await first.NewAccountTokenAsync(database, "Hooks");
            using var client = first.Client(token);
            await CreateWebhookAsync(client, receiver.Url("/crash"), ["*"]);
            var location = await CreateLocationAsync(client);
            ids.Add(location);
            for (var i = 0; i < 40; i++)
            {
                ids.Add((await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(location))).GetProperty("id").GetString()!);
            }
        }
        finally
        {
            // Killed, not stopped.
            await first.DisposeAsync();
        }

        Assert.True(ObjectIds(receiver).Distinct().Count() < ids.Count, "the kill came before every event was delivered");
        await using var second = ServiceProcess.StartServer(database, settings);
        await second.WaitUntilReadyAsync();

        await Wait.UntilAsync(() => ObjectIds(receiver).Distinct().Count() >= ids.Count, Deadline, "every event delivered after the restart");
        Assert.Equal(ids.Order(StringComparer.Ordinal), ObjectIds(receiver).Distinct().Order(StringComparer.Ordinal));
    }

    private static IEnumerable<string> ObjectIds(Receiver receiver) =>
        receiver.Requests.Select(r => r.ObjectId);
}
