using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace Flatpeak.Devices.Tests.Hostile;

public sealed class LoggingTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task Every_log_line_of_a_request_carries_its_request_id_and_no_secret_is_ever_logged()
    {
        var logs = new CapturingLoggerProvider();
        await using var verbose = Api.Factory.WithWebHostBuilder(web =>
        {
            web.UseSetting("Logging:LogLevel:Default", "Trace");
            web.UseSetting("Logging:LogLevel:Microsoft", "Trace");
            web.UseSetting("Logging:LogLevel:Microsoft.AspNetCore", "Trace");
            web.UseSetting("Logging:LogLevel:Microsoft.EntityFrameworkCore", "Trace");
            web.ConfigureLogging(logging => logging.AddProvider(logs));
        });
        var account = await CreateAccountAsync();
        using var client = verbose.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var requestIds = new List<string>();

        using var login = new HttpRequestMessage(HttpMethod.Get, "/login");
        login.Headers.Authorization = ApiFixture.BasicAuth(account.AccountId, account.LiveKey);
        using var loginResponse = await client.SendAsync(login);
        requestIds.Add(loginResponse.Headers.GetValues("Request-Id").Single());
        var token = (await ReadJsonAsync(loginResponse)).GetProperty("bearer_token").GetString()!;

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        foreach (var body in new[] { "{}", CreateDeviceTests.SeedBody("loc_000000000000000000000000"), "{ broken" })
        {
            using var response = await client.PostAsync("/devices", new StringContent(body, Encoding.UTF8, "application/json"));
            requestIds.Add(response.Headers.GetValues("Request-Id").Single());
        }

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token[..^4] + "AAAA");
        using var forged = await client.GetAsync("/devices");
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        requestIds.Add(forged.Headers.GetValues("Request-Id").Single());

        // Hosting logs "Request finished" once the response is complete, which can be just after the client has it.
        await Wait.UntilAsync(
            () => requestIds.All(id => logs.Entries.Any(e => e.ScopeValues.GetValueOrDefault("RequestId") == id && e.Message.StartsWith("Request finished", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(10), "every request's \"Request finished\" log line");
        var entries = logs.Entries.ToList();
        string[] secrets = [account.LiveKey, account.TestKey, token, token.Split('.')[2], token[..^4] + "AAAA", ApiFixture.SigningKey,
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{account.AccountId}:{account.LiveKey}"))];
        foreach (var entry in entries)
        {
            foreach (var secret in secrets)
            {
                Assert.DoesNotContain(secret, entry.AllText, StringComparison.Ordinal);
            }
        }

        foreach (var requestId in requestIds)
        {
            var ofRequest = entries.Where(e => e.ScopeValues.GetValueOrDefault("RequestId") == requestId).ToList();
            Assert.Contains(ofRequest, e => e.Message.StartsWith("Request starting", StringComparison.Ordinal));
            Assert.Contains(ofRequest, e => e.Message.StartsWith("Request finished", StringComparison.Ordinal));
        }

        // Every line logged inside a request names it by our id, never by the server's own.
        Assert.All(entries.Where(e => e.ScopeValues.ContainsKey("RequestId")), e => Assert.StartsWith("req_", e.ScopeValues["RequestId"], StringComparison.Ordinal));
        Assert.All(entries.Where(e => e.Category.StartsWith("Microsoft.AspNetCore.Hosting", StringComparison.Ordinal) && e.Message.StartsWith("Request", StringComparison.Ordinal)),
            e => Assert.Contains(e.ScopeValues.GetValueOrDefault("RequestId"), requestIds));
    }
}
