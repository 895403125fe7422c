using System.Net;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Flatpeak.Devices.Tests.Hostile;

/// <summary>Logs an operator can read: an expected failure is one warning, and nothing floods them.</summary>
public sealed class OperatorLogTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task A_database_out_of_reach_is_answered_503_and_logged_as_one_warning_with_the_request_id_and_no_stack()
    {
        var logs = new CapturingLoggerProvider();
        await using var cutOff = Api.Factory.WithWebHostBuilder(web =>
        {
            web.UseSetting("ConnectionStrings:Postgres", $"Host=127.0.0.1;Port={TestPostgres.FreePort()};Username=postgres;Password=unused;Database=postgres;Timeout=2");
            web.UseSetting("Database:MigrateOnStartup", "false");
            web.ConfigureLogging(logging => logging.AddProvider(logs));
        });
        var account = await CreateAccountAsync();
        using var client = ApiFixture.Client(cutOff, await Api.LoginAsync(account.AccountId, account.TestKey));

        using var response = await client.GetAsync("/devices");

        await AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "api.device_list", "database_unavailable");
        var requestId = Assert.Single(response.Headers.GetValues("Request-Id"));
        var ofRequest = logs.Entries.Where(e => e.ScopeValues.GetValueOrDefault("RequestId") == requestId).ToList();
        Assert.DoesNotContain(ofRequest, e => e.Level >= LogLevel.Error);
        var warning = Assert.Single(ofRequest, e => e.Level == LogLevel.Warning);
        Assert.Contains($"503 database_unavailable to request {requestId}", warning.Message, StringComparison.Ordinal);
        Assert.Null(warning.Exception);
        Assert.DoesNotContain('\n', warning.Message);
    }

    [Fact]
    public async Task A_missing_table_while_no_migration_is_pending_is_a_500_logged_with_its_stack_not_schema_outdated()
    {
        var logs = new CapturingLoggerProvider();
        var database = await Api.NewDatabaseAsync("notbehind");
        await using var broken = Api.Factory.WithWebHostBuilder(web =>
        {
            web.UseSetting("ConnectionStrings:Postgres", database);
            web.ConfigureLogging(logging => logging.AddProvider(logs));
        });
        var account = await ApiFixture.CreateAccountAsync(broken.Services, "Broken");
        using var anonymous = ApiFixture.Client(broken);
        using var client = ApiFixture.Client(broken, await ApiFixture.LoginAsync(anonymous, account.AccountId, account.TestKey));
        // Every migration applied, and a table gone all the same: what a bug in a statement looks like.
        await using (var connection = new Npgsql.NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var rename = new Npgsql.NpgsqlCommand("ALTER TABLE customers RENAME TO customers_elsewhere", connection);
            await rename.ExecuteNonQueryAsync();
        }

        using var response = await client.GetAsync("/customers");

        await AssertErrorAsync(response, HttpStatusCode.InternalServerError, "api.customer_list", "internal_error");
        var requestId = Assert.Single(response.Headers.GetValues("Request-Id"));
        var error = Assert.Single(logs.Entries, e => e.Level == LogLevel.Error && e.ScopeValues.GetValueOrDefault("RequestId") == requestId);
        Assert.Contains("customers", error.Exception, StringComparison.Ordinal);
    }

    [Fact]
    public void Webhook_deliveries_are_not_logged_line_by_line_by_the_http_client()
    {
        var loggers = Api.Factory.Services.GetRequiredService<ILoggerFactory>();

        foreach (var category in new[] { "System.Net.Http.HttpClient.webhooks.LogicalHandler", "System.Net.Http.HttpClient.webhooks.ClientHandler" })
        {
            Assert.False(loggers.CreateLogger(category).IsEnabled(LogLevel.Information), category);
            Assert.True(loggers.CreateLogger(category).IsEnabled(LogLevel.Warning), category);
        }
    }

    [Fact]
    public void The_simple_console_format_keeps_the_timestamp_apart_from_the_level()
    {
        var simple = Api.Factory.Services.GetRequiredService<IOptionsMonitor<SimpleConsoleFormatterOptions>>().CurrentValue;

        Assert.NotNull(simple.TimestampFormat);
        Assert.EndsWith(" ", simple.TimestampFormat, StringComparison.Ordinal);
    }
}
