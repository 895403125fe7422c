using System.Net;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.Hosting;

/// <summary>What an operator sees when the service cannot start: one line that says why, and an exit code.</summary>
[Collection(ProcessesGroup.Name)]
public sealed class StartupTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Theory]
    [InlineData("Auth:TokenLifetimeSeconds", "abc", true)]
    [InlineData("Auth:RevocationRefreshSeconds", "x", true)]
    [InlineData("RateLimiting:TokenLimit", "abc", true)]
    [InlineData("RateLimiting:TokenLimit", "0", true)]
    [InlineData("RateLimiting:PeriodSeconds", "-1", true)]
    [InlineData("Database:RequestBudgetSeconds", "abc", true)]
    [InlineData("Database:RequestBudgetSeconds", "0", true)]
    [InlineData("Database:MigrateOnStartup", "maybe", true)]
    [InlineData("Login:WindowSeconds", "x", true)]
    [InlineData("Login:MaxFailuresPerAccount", "0", true)]
    [InlineData("Webhooks:PollSeconds", "abc", true)]
    [InlineData("Events:RetentionDays", "1", true)]
    [InlineData("Webhooks:AllowPrivateNetworks", "yes", true)]
    [InlineData("Webhooks:RetrySchedule:0", "abc", true)]
    [InlineData("OpenTelemetry:ExportIntervalMilliseconds", "abc", true)]
    [InlineData("OpenTelemetry:OtlpEndpoint", "notaurl", false)]
    [InlineData("OpenTelemetry:Protocol", "foo", false)]
    public async Task A_value_that_is_not_a_number_a_boolean_or_in_range_stops_the_start_with_one_line_and_exit_1(string key, string value, bool shown)
    {
        var (exit, stdout, stderr) = await ServiceProcess.RunCommandAsync(
            Api.Postgres.ConnectionString,
            new Dictionary<string, string> { ["Auth__SigningKey"] = ApiFixture.SigningKey, [key.Replace(":", "__", StringComparison.Ordinal)] = value },
            "--urls", $"http://127.0.0.1:{TestPostgres.FreePort()}");

        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        // The value is repeated, unless the setting is text (which may be a secret).
        Assert.StartsWith($"Configuration error: {key}{(shown ? $" is '{value}'" : ":")}", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_event_retention_the_webhook_retries_would_outlast_stops_the_start()
    {
        var (exit, stdout, stderr) = await ServiceProcess.RunCommandAsync(
            Api.Postgres.ConnectionString,
            new Dictionary<string, string>
            {
                ["Auth__SigningKey"] = ApiFixture.SigningKey,
                ["Events__RetentionDays"] = "3",
                ["Webhooks__RetrySchedule__0"] = "00:00:00",
                ["Webhooks__RetrySchedule__1"] = "2.12:00:00",
            },
            "--urls", $"http://127.0.0.1:{TestPostgres.FreePort()}");

        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        Assert.StartsWith(
            "Configuration error: Events:RetentionDays must outlast the last webhook retry (Webhooks:RetrySchedule) by a day",
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_check_stops_an_operator_command()
    {
        var (exit, stdout, stderr) = await ServiceProcess.RunCommandAsync(
            Api.Postgres.ConnectionString, new Dictionary<string, string> { ["Login__WindowSeconds"] = "0" }, "accounts", "create", "--name", "Acme");

        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        Assert.StartsWith("Configuration error: Login:WindowSeconds is '0'", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_database_out_of_reach_at_start_is_one_line_and_exit_1_for_the_service_and_for_a_command(bool command)
    {
        var nowhere = $"Host=127.0.0.1;Port={TestPostgres.FreePort()};Username=postgres;Password=unused;Database=postgres;Timeout=2";
        string[] args = command ? ["accounts", "create", "--name", "Acme"] : ["--urls", $"http://127.0.0.1:{TestPostgres.FreePort()}"];

        var (exit, stdout, stderr) = await ServiceProcess.RunCommandAsync(
            nowhere, new Dictionary<string, string> { ["Auth__SigningKey"] = ApiFixture.SigningKey }, args);

        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Database error: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("unused", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Help_prints_the_usage_and_exits_0(string flag)
    {
        var (exit, stdout, stderr) = await ServiceProcess.RunCommandAsync("", flag);

        Assert.Equal(0, exit);
        Assert.StartsWith("usage: ", stdout, StringComparison.Ordinal);
        Assert.Contains("accounts create --name NAME", stdout, StringComparison.Ordinal);
        Assert.Empty(stderr);
    }

    [Theory]
    [InlineData("--frobnicate")]
    [InlineData("--port=8080")]
    [InlineData("--urls", "http://127.0.0.1:1", "--verbose")]
    [InlineData("--Webhook:PollSeconds=1")]
    public async Task An_unknown_option_exits_2_without_starting(params string[] args)
    {
        var (exit, stdout, stderr) = await ServiceProcess.RunCommandAsync(Api.Postgres.ConnectionString, args);

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.StartsWith("unknown option --", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_while_migrations_are_pending_answers_503_schema_outdated_as_readyz_does()
    {
        var connectionString = await Api.NewDatabaseAsync("pending");
        await using var server = ServiceProcess.StartServer(connectionString, new Dictionary<string, string> { ["Database__MigrateOnStartup"] = "false" });
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        await Wait.UntilAsync(async () =>
        {
            try
            {
                using var live = await client.GetAsync("/healthz");
                return live.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromMinutes(1), "the service to listen");

        using var login = new HttpRequestMessage(HttpMethod.Get, "/login");
        login.Headers.Authorization = ApiFixture.BasicAuth("acc_000000000000000000000000", "sk_test_" + new string('0', 48));
        using var response = await client.SendAsync(login);

        await AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "api.login", "schema_outdated");
        Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
        // Stopped first, so that everything it logged has been read: a warning with the request id, and no error.
        await server.StopAsync();
        Assert.Contains($"503 schema_outdated to request {Assert.Single(response.Headers.GetValues("Request-Id"))}", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("\"LogLevel\":\"Error\"", server.Output, StringComparison.Ordinal);
    }
}
