using System.Net;
using System.Text;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.MultiInstance;

/// <summary>State submissions sent to two service processes sharing one database.</summary>
[Collection(ProcessesGroup.Name)]
public sealed class DeviceStateInstancesTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task One_record_reference_id_sent_at_once_to_two_instances_is_stored_once_and_both_answer_its_record()
    {
        var database = await Api.NewDatabaseAsync("states2");
        await using var a = ServiceProcess.StartServer(database);
        await using var b = ServiceProcess.StartServer(database);
        await Task.WhenAll(a.WaitUntilReadyAsync(), b.WaitUntilReadyAsync());
        var token = await a.NewAccountTokenAsync(database, "States");
        using var clientA = a.Client(token);
        using var clientB = b.Client(token);
        var device = (await CreateDeviceAsync(clientA, CreateDeviceTests.SeedBody(await CreateLocationAsync(clientA)))).GetProperty("id").GetString()!;
        var time = DateTimeOffset.UtcNow.AddMinutes(-1).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

        var rounds = await Task.WhenAll(Enumerable.Range(0, 20).Select(async round =>
        {
            var body = $$"""{"time":"{{time}}","state_of_charge_percent":{{round}},"target_state_of_charge_percent":80,"record_reference_id":"R{{round}}"}""";
            var answers = await Task.WhenAll(new[] { clientA, clientB, clientA, clientB }.Select(async client =>
            {
                using var response = await client.PutAsync($"/devices/{device}/state", new StringContent(body, Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return (await ReadJsonAsync(response)).GetProperty("id").GetString()!;
            }));
            return answers;
        }));

        Assert.All(rounds, answers => Assert.Single(answers.Distinct()));
        Assert.Equal(20, await Sql.LongAsync(database, "SELECT count(*) FROM device_states"));
        Assert.Equal(20, await Sql.LongAsync(database, "SELECT count(DISTINCT record_reference_id) FROM device_states"));
    }
}
