using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Npgsql;

namespace Flatpeak.Devices.Tests.Hostile;

/// <summary>A request has one time budget across all its database attempts, and a timeout is told apart from an outage.</summary>
[Collection(DatabaseFaultsGroup.Name)]
public sealed class RequestBudgetTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task A_create_waiting_on_a_held_lock_gets_503_database_timeout_within_its_budget_and_stores_nothing()
    {
        await using var budgeted = Api.Factory.WithWebHostBuilder(web => web.UseSetting("Database:RequestBudgetSeconds", "1"));
        var account = await CreateAccountAsync();
        using var client = ApiFixture.Client(budgeted, await Api.LoginAsync(account.AccountId, account.TestKey));
        var location = await CreateLocationAsync(client);

        await using var holder = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Api.Postgres.ConnectionString) { Pooling = false }.ConnectionString);
        await holder.OpenAsync();
        await using (var lockTable = new NpgsqlCommand("BEGIN; LOCK TABLE devices IN ACCESS EXCLUSIVE MODE", holder))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        var clock = Stopwatch.StartNew();
        using var response = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(location));
        clock.Stop();
        await using (var release = new NpgsqlCommand("ROLLBACK", holder))
        {
            await release.ExecuteNonQueryAsync();
        }

        var error = await AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "api.device_create", "database_timeout");
        Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
        Assert.Contains("did not answer within 1 s", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        // The budget, not each attempt's own timeout (a command may wait 10 s, three times): well under 10 s.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"answered after {clock.Elapsed}");
        await AssertNoDevicesAsync();
    }

    [Fact]
    public async Task A_database_host_that_accepts_but_never_answers_gets_503_within_the_budget()
    {
        using var blackHole = new TcpListener(IPAddress.Loopback, 0);
        blackHole.Start();
        var accepted = new List<TcpClient>();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                accepted.Add(await blackHole.AcceptTcpClientAsync());
            }
        });
        var port = ((IPEndPoint)blackHole.LocalEndpoint).Port;
        await using var silent = Api.Factory.WithWebHostBuilder(web =>
        {
            web.UseSetting("ConnectionStrings:Postgres", $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres");
            web.UseSetting("Database:MigrateOnStartup", "false");
            web.UseSetting("Database:RequestBudgetSeconds", "2");
        });
        var account = await CreateAccountAsync();
        using var client = ApiFixture.Client(silent, await Api.LoginAsync(account.AccountId, account.TestKey));

        var clock = Stopwatch.StartNew();
        using var response = await client.GetAsync("/devices");
        clock.Stop();

        await AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "api.device_list", "database_timeout");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"answered after {clock.Elapsed} (three attempts of 3 s would be 9 s or more)");
        blackHole.Stop();
        accepted.ForEach(c => c.Dispose());
    }
}
