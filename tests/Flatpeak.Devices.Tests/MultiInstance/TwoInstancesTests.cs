using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Npgsql;

namespace Flatpeak.Devices.Tests.MultiInstance;

/// <summary>Two processes of the service against one fresh database, as behind a load balancer.</summary>
[Collection(ProcessesGroup.Name)]
public sealed class TwoInstancesTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task Two_instances_migrate_together_never_collide_on_ids_and_share_idempotency()
    {
        var connectionString = await Api.NewDatabaseAsync("multi");

        // Both start on an empty database at the same moment: both try to migrate.
        await using var a = ServiceProcess.StartServer(connectionString);
        await using var b = ServiceProcess.StartServer(connectionString);
        await Task.WhenAll(a.WaitUntilReadyAsync(), b.WaitUntilReadyAsync());

        var (exit, stdout, stderr) = await ServiceProcess.RunCommandAsync(connectionString, "accounts", "create", "--name", "Fleet");
        Assert.True(exit == 0, stderr);
        var account = JsonDocument.Parse(stdout).RootElement;
        using var clientA = new HttpClient { BaseAddress = a.BaseAddress };
        using var clientB = new HttpClient { BaseAddress = b.BaseAddress };
        using (var login = new HttpRequestMessage(HttpMethod.Get, "/login"))
        {
            login.Headers.Authorization = ApiFixture.BasicAuth(account.GetProperty("account_id").GetString()!, account.GetProperty("test_key").GetString()!);
            using var response = await clientA.SendAsync(login);
            var token = (await ReadJsonAsync(response)).GetProperty("bearer_token").GetString();
            // A token from one instance works on the other.
            clientA.DefaultRequestHeaders.Authorization = clientB.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        var location = await CreateLocationAsync(clientA);
        var body = CreateDeviceTests.SeedBody(location);
        var ids = await CreateDevicesOverAsync(clientA, clientB, body, 200);

        Assert.Equal(200, ids.Distinct().Count());
        // Each process draws its own random middle part of the ids.
        Assert.Equal(2, ids.Select(id => id[12..22]).Distinct().Count());
        using (var list = await clientB.GetAsync("/devices?limit=100"))
        {
            Assert.True((await ReadJsonAsync(list)).GetProperty("has_more").GetBoolean());
        }

        Assert.Equal(200, await Sql.LongAsync(connectionString, "SELECT count(*) FROM devices"));

        // An Idempotency-Key used on one instance is honoured by the other.
        using var first = await PostJsonAsync(clientA, "/devices", body, "fleet-import-1");
        using var retry = await PostJsonAsync(clientB, "/devices", body, "fleet-import-1");
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(201, await Sql.LongAsync(connectionString, "SELECT count(*) FROM devices"));
        Assert.Equal(1, await Sql.LongAsync(connectionString, "SELECT count(*) FROM \"__EFMigrationsHistory\" WHERE migration_id LIKE '%_Initial'"));

        // Through Kestrel too, a body past the limit is refused with the error object, declared or streamed.
        var huge = body.Replace("Nova Systems", new string('n', 70_000), StringComparison.Ordinal);
        using var declared = await PostJsonAsync(clientA, "/devices", huge);
        await AssertErrorAsync(declared, HttpStatusCode.RequestEntityTooLarge, "api.device_create", "body_too_large");
        using var streamed = new HttpRequestMessage(HttpMethod.Post, "/devices") { Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(huge))) };
        streamed.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        streamed.Headers.TransferEncodingChunked = true;
        using var streamedResponse = await clientB.SendAsync(streamed);
        await AssertErrorAsync(streamedResponse, HttpStatusCode.RequestEntityTooLarge, "api.device_create", "body_too_large");
    }
}
