using System.Net;
using System.Text.Json;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.Accounts;

/// <summary>The operator commands, run as an operator runs them: the built service with arguments, in its own process.</summary>
[Collection(ProcessesGroup.Name)]
public sealed class OperatorCommandTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task Accounts_create_prints_exactly_one_json_line_with_an_account_and_two_working_keys()
    {
        var (exit, stdout, stderr) = await RunServiceAsync("accounts", "create", "--name", "Acme");

        Assert.True(exit == 0, stderr);
        var line = Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var created = JsonDocument.Parse(line).RootElement;
        Assert.Equal(["account_id", "test_key", "live_key"], created.EnumerateObject().Select(p => p.Name));
        var accountId = created.GetProperty("account_id").GetString()!;
        Assert.Matches("^acc_[0-9a-f]{24}$", accountId);
        Assert.Matches("^sk_test_[0-9a-f]{48}$", created.GetProperty("test_key").GetString());
        Assert.Matches("^sk_live_[0-9a-f]{48}$", created.GetProperty("live_key").GetString());

        await Api.LoginAsync(accountId, created.GetProperty("test_key").GetString()!);
        await Api.LoginAsync(accountId, created.GetProperty("live_key").GetString()!);
    }

    [Fact]
    public async Task Keys_create_prints_a_new_key_and_keys_revoke_stops_it_logging_in()
    {
        var account = await CreateAccountAsync();

        var (exit, stdout, stderr) = await RunServiceAsync("keys", "create", "--account", account.AccountId, "--mode", "live");
        Assert.True(exit == 0, stderr);
        var key = stdout.Trim();
        Assert.Matches("^sk_live_[0-9a-f]{48}$", key);
        await Api.LoginAsync(account.AccountId, key);

        (exit, stdout, stderr) = await RunServiceAsync("keys", "revoke", "--account", account.AccountId, "--key", key);
        Assert.True(exit == 0, stderr);
        // The confirmation is the command's result: stdout.
        Assert.StartsWith("revoked sk_live_", stdout.Trim(), StringComparison.Ordinal);

        using var client = Api.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/login");
        request.Headers.Authorization = ApiFixture.BasicAuth(account.AccountId, key);
        using var response = await client.SendAsync(request);
        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "api.login", "credentials_invalid");
        // The account's other keys still work.
        await Api.LoginAsync(account.AccountId, account.LiveKey);
    }

    [Theory]
    [InlineData("accounts")]
    [InlineData("accounts", "create")]
    [InlineData("accounts", "create", "--name")]
    [InlineData("keys", "create", "--account", "acc_000000000000000000000000", "--mode", "staging")]
    [InlineData("keys", "delete")]
    [InlineData("account", "create", "--name", "Acme")]
    [InlineData("Accounts", "create", "--name", "Acme")]
    [InlineData("frobnicate")]
    public async Task A_wrong_command_line_prints_the_usage_and_exits_2(params string[] args)
    {
        var (exit, stdout, stderr) = await RunServiceAsync(args);

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Contains("usage:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_create_for_an_unknown_account_exits_1()
    {
        var (exit, stdout, stderr) = await RunServiceAsync("keys", "create", "--account", "acc_000000000000000000000000", "--mode", "test");

        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        Assert.Contains("no such account", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "a-signing-key-long-enough-for-the-service-0123456789", "ConnectionStrings:Postgres")]
    [InlineData("CONNECTION", "", "Auth:SigningKey")]
    public async Task A_configuration_error_ends_the_service_with_one_line_and_exit_code_1(string connectionString, string signingKey, string named)
    {
        var (exit, stdout, stderr) = await ServiceProcess.RunCommandAsync(
            connectionString == "CONNECTION" ? Api.Postgres.ConnectionString : connectionString,
            new Dictionary<string, string> { ["Auth__SigningKey"] = signingKey },
            "--urls", $"http://127.0.0.1:{TestPostgres.FreePort()}");

        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Configuration error: ", line, StringComparison.Ordinal);
        Assert.Contains(named, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_connection_string_stops_an_operator_command_with_one_line_and_exit_code_1()
    {
        var (exit, stdout, stderr) = await ServiceProcess.RunCommandAsync("", "accounts", "create", "--name", "Acme");

        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        Assert.StartsWith("Configuration error: 'ConnectionStrings:Postgres'", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    private Task<(int Exit, string Stdout, string Stderr)> RunServiceAsync(params string[] args) =>
        ServiceProcess.RunCommandAsync(Api.Postgres.ConnectionString, args);
}
