using System.Net;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.Health;

/// <summary>The built service on databases of its own: readiness follows the schema, and a first start logs no error.</summary>
[Collection(ProcessesGroup.Name)]
public sealed class ReadinessTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task Readyz_is_503_while_migrations_are_pending_and_200_once_they_are_applied()
    {
        var connectionString = await Api.NewDatabaseAsync("ready");
        await using var server = ServiceProcess.StartServer(connectionString, new Dictionary<string, string> { ["Database__MigrateOnStartup"] = "false" });
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };

        using var pending = await WaitForAnswerAsync(client, server);
        await AssertErrorAsync(pending, HttpStatusCode.ServiceUnavailable, "api.health_ready", "schema_outdated");

        var (exit, _, stderr) = await ServiceProcess.RunCommandAsync(connectionString, "accounts", "create", "--name", "Migrates");
        Assert.True(exit == 0, stderr);
        using var ready = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task A_first_start_on_an_empty_database_logs_no_error()
    {
        await using var server = ServiceProcess.StartServer(await Api.NewDatabaseAsync("ready"));
        await server.WaitUntilReadyAsync();

        var errors = server.Output.Split('\n').Where(line => line.Contains("\"LogLevel\":\"Error\"", StringComparison.Ordinal) || line.Contains("\"LogLevel\":\"Critical\"", StringComparison.Ordinal));
        Assert.Empty(errors);
        Assert.Contains("Now listening on", server.Output, StringComparison.Ordinal);
    }

    /// <summary>The first answer of /readyz once the server listens, within a deadline.</summary>
    private static async Task<HttpResponseMessage> WaitForAnswerAsync(HttpClient client, ServiceProcess server)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                return await client.GetAsync("/readyz");
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException($"The service did not answer /readyz within 60 s:\n{server.Output}");
    }
}
