using System.Net;
using System.Text;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Flatpeak.Devices.Tests.Webhooks;

namespace Flatpeak.Devices.Tests.MultiInstance;

/// <summary>
/// Two processes of the service through PgBouncer in transaction pooling mode, each transaction on whichever server
/// session the pooler hands it; their session work (migrations, LISTEN) goes straight to PostgreSQL.
/// </summary>
[Collection(ProcessesGroup.Name)]
public sealed class PgBouncerTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task Creates_races_idempotency_device_state_and_webhooks_work_behind_a_transaction_pooler()
    {
        await using var bouncer = await TestPgBouncer.StartAsync(Api.Postgres.ConnectionString);
        var direct = await Api.NewDatabaseAsync("pooled");
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings__PostgresDirect"] = direct,
            ["Webhooks__AllowPrivateNetworks"] = "true",
            // Only a wake-up (LISTEN on the direct connection, or the writer's own) can deliver within the deadline.
            ["Webhooks__PollSeconds"] = "3600",
        };
        await using var a = ServiceProcess.StartServer(bouncer.Through(direct), settings);
        await using var b = ServiceProcess.StartServer(bouncer.Through(direct), settings);
        await Task.WhenAll(a.WaitUntilReadyAsync(), b.WaitUntilReadyAsync());
        var token = await a.NewAccountTokenAsync(direct, "Pooled");
        using var clientA = a.Client(token);
        using var clientB = b.Client(token);
        await using var receiver = await Receiver.StartAsync();
        await CreateWebhookAsync(clientA, receiver.Url("/hook"), ["device.create"]);
        var body = CreateDeviceTests.SeedBody(await CreateLocationAsync(clientB));

        // 48 creates at once over both instances, then 16 keys each sent to one and retried on the other.
        var raced = await CreateDevicesOverAsync(clientA, clientB, body, 48);
        var keyed = new List<string>();
        for (var key = 0; key < 16; key++)
        {
            using var first = await PostJsonAsync(clientA, "/devices", body, $"pooled-{key}");
            using var retry = await PostJsonAsync(clientB, "/devices", body, $"pooled-{key}");
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
            Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
            Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
            keyed.Add((await ReadJsonAsync(first)).GetProperty("id").GetString()!);
        }

        var created = raced.Concat(keyed).ToHashSet();
        Assert.Equal(64, created.Count);
        Assert.Equal(created.Order(), (await Sql.TextsAsync(direct, "SELECT id FROM devices")).Order());
        Assert.Equal(created.Order(), (await Sql.TextsAsync(direct, "SELECT object_id FROM events WHERE type = 'device.create'")).Order());
        await Wait.UntilAsync(() => receiver.To("/hook").Count() >= 64, TimeSpan.FromSeconds(60), "64 deliveries");
        Assert.Equal(created.Order(), receiver.To("/hook").Select(r => r.ObjectId).Order());

        // A state submitted through one instance is read back through the other (the history's one-round-trip read).
        var device = keyed[0];
        var time = DateTimeOffset.UtcNow.AddMinutes(-1).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        using var submitted = await clientA.PutAsync($"/devices/{device}/state", new StringContent(
            $$"""{"time":"{{time}}","state_of_charge_percent":40,"target_state_of_charge_percent":90}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, submitted.StatusCode);
        var history = await ReadJsonAsync(await clientB.GetAsync($"/devices/{device}/states"));
        Assert.Equal(
            [(await ReadJsonAsync(submitted)).GetProperty("id").GetString()],
            history.GetProperty("data").EnumerateArray().Select(s => s.GetProperty("id").GetString()));
    }
}
