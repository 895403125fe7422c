using System.Net;
using Flatpeak.Devices.Api.Accounts;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Flatpeak.Devices.Tests.Auth;

/// <summary>Guessing keys is throttled; a revoked key's bearer tokens stop working.</summary>
public sealed class LoginAbuseTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Repeated_failures_for_one_account_get_429_with_retry_after_and_other_accounts_still_log_in()
    {
        await using var limited = Api.Factory.WithWebHostBuilder(web =>
        {
            web.UseSetting("Login:MaxFailuresPerAccount", "3");
            web.UseSetting("Login:MaxFailuresPerAddress", "1000");
            web.UseSetting("Login:WindowSeconds", "600");
        });
        var victim = await CreateAccountAsync("Victim");
        var other = await CreateAccountAsync("Other");
        var wrongKey = "sk_test_" + new string('0', 48);

        // Both token paths count against one throttle: guesses at POST /auth/tokens count for GET /login too.
        for (var i = 0; i < 3; i++)
        {
            using var wrong = await LoginAsync(limited, victim.AccountId, wrongKey, busbar: i % 2 == 1);
            await AssertErrorAsync(wrong, HttpStatusCode.Unauthorized, i % 2 == 1 ? "api.auth_token_create" : "api.login", "credentials_invalid");
        }

        using var throttled = await LoginAsync(limited, victim.AccountId, wrongKey);
        var error = await AssertErrorAsync(throttled, HttpStatusCode.TooManyRequests, "api.login", "rate_limited");
        using var throttledBusbar = await LoginAsync(limited, victim.AccountId, victim.TestKey, busbar: true);
        await AssertErrorAsync(throttledBusbar, HttpStatusCode.TooManyRequests, "api.auth_token_create", "rate_limited");
        Assert.InRange(throttled.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 1, 600);
        Assert.Equal("no-store", throttled.Headers.CacheControl?.ToString());
        // Even the right key waits: the guesses were made against this account.
        using var rightKey = await LoginAsync(limited, victim.AccountId, victim.TestKey);
        Assert.Equal(HttpStatusCode.TooManyRequests, rightKey.StatusCode);
        using var otherAccount = await LoginAsync(limited, other.AccountId, other.TestKey);
        Assert.Equal(HttpStatusCode.OK, otherAccount.StatusCode);
        Assert.Contains("failed logins", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Repeated_failures_from_one_address_get_429_whatever_account_they_name()
    {
        await using var limited = Api.Factory.WithWebHostBuilder(web =>
        {
            web.UseSetting("Login:MaxFailuresPerAccount", "1000");
            web.UseSetting("Login:MaxFailuresPerAddress", "5");
            web.UseSetting("Login:WindowSeconds", "600");
        });

        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            // A new (non-existent) account id each time, and a malformed one among them: all count against the address.
            var accountId = i == 3 ? "not-an-account" : $"acc_{i:x24}";
            using var response = await LoginAsync(limited, accountId, "sk_live_" + new string('1', 48));
            answers.Add(response.StatusCode);
        }

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 5), .. Enumerable.Repeat(HttpStatusCode.TooManyRequests, 3)], answers);
    }

    [Fact]
    public async Task Revoking_a_key_revokes_its_bearer_tokens_within_the_refresh_period_and_no_others()
    {
        await using var quick = Api.Factory.WithWebHostBuilder(web => web.UseSetting("Auth:RevocationRefreshSeconds", "1"));
        var account = await CreateAccountAsync();
        using var keyStdout = new StringWriter();
        using var keyStderr = new StringWriter();
        Assert.Equal(0, await OperatorCommands.RunAsync(quick.Services, ["keys", "create", "--account", account.AccountId, "--mode", "test"], keyStdout, keyStderr));
        var doomedKey = keyStdout.ToString().Trim();
        using var doomed = ApiFixture.Client(quick, await TokenAsync(quick, account.AccountId, doomedKey));
        using var kept = ApiFixture.Client(quick, await TokenAsync(quick, account.AccountId, account.TestKey));
        using (var before = await doomed.GetAsync("/devices"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        Assert.Equal(0, await OperatorCommands.RunAsync(quick.Services, ["keys", "revoke", "--account", account.AccountId, "--key", doomedKey], new StringWriter(), new StringWriter()));

        HttpResponseMessage? refused = null;
        await Wait.UntilAsync(async () =>
        {
            var response = await doomed.GetAsync("/devices");
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                refused = response;
                return true;
            }

            response.Dispose();
            return false;
        }, Deadline, "the revoked key's token to be refused");
        using (refused)
        {
            await AssertErrorAsync(refused!, HttpStatusCode.Unauthorized, "api.device_list", "token_invalid");
        }

        using var stillFine = await kept.GetAsync("/devices");
        Assert.Equal(HttpStatusCode.OK, stillFine.StatusCode);
    }

    /// <summary><c>GET /login</c>, or busbar's <c>POST /auth/tokens</c> when <paramref name="busbar"/>.</summary>
    private static async Task<HttpResponseMessage> LoginAsync(WebApplicationFactory<Program> factory, string accountId, string key, bool busbar = false)
    {
        using var client = factory.CreateClient();
        using var request = busbar ? new HttpRequestMessage(HttpMethod.Post, "/auth/tokens") : new HttpRequestMessage(HttpMethod.Get, "/login");
        request.Headers.Authorization = ApiFixture.BasicAuth(accountId, key);
        return await client.SendAsync(request);
    }

    private static async Task<string> TokenAsync(WebApplicationFactory<Program> factory, string accountId, string key)
    {
        using var response = await LoginAsync(factory, accountId, key);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await ReadJsonAsync(response)).GetProperty("bearer_token").GetString()!;
    }

}
