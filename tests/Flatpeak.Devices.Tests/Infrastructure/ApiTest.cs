using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Flatpeak.Devices.Api.Accounts;
using Flatpeak.Devices.Api.Data;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Flatpeak.Devices.Tests.Infrastructure;

/// <summary>
/// Base of the integration tests, and the helpers every test needs. Tests share their collection's database (migrated
/// once per run) and are kept apart by tenancy: each works in accounts of its own, and what it counts in the database it
/// counts in those accounts only (<see cref="CountMineAsync{T}"/>).
/// </summary>
[Collection(ApiTestGroup.Name)]
public abstract class ApiTest : IDisposable
{
    private readonly List<string> _accounts = [];

    protected ApiTest(ApiFixture api, ITestOutputHelper output)
    {
        Api = api;
        Api.Logs.Output = output;
    }

    protected ApiFixture Api { get; }

    public void Dispose()
    {
        Api.Logs.Output = null;
        GC.SuppressFinalize(this);
    }

    /// <summary>The ids of the accounts this test made (all ObjectId-style: safe to put in SQL text).</summary>
    protected IReadOnlyList<string> MyAccounts => _accounts;

    /// <summary>A new account of this test's, through the operator command's own code.</summary>
    protected async Task<AccountCreated> CreateAccountAsync(string name = "Acme")
    {
        var account = await Api.CreateAccountAsync(name);
        _accounts.Add(account.AccountId);
        return account;
    }

    /// <summary>How many rows of <paramref name="set"/> belong to the accounts this test made.</summary>
    protected async Task<int> CountMineAsync<T>(Func<DevicesDbContext, IQueryable<T>> set)
        where T : class
    {
        await using var scope = Api.Factory.Services.CreateAsyncScope();
        var mine = _accounts.ToList();
        return await set(scope.ServiceProvider.GetRequiredService<DevicesDbContext>())
            .Where(row => mine.Contains(EF.Property<string>(row, "AccountId")))
            .CountAsync();
    }

    /// <summary>The rows of <paramref name="set"/> that belong to the accounts this test made.</summary>
    protected IQueryable<T> Mine<T>(IQueryable<T> set)
        where T : class
    {
        var mine = _accounts.ToList();
        return set.Where(row => mine.Contains(EF.Property<string>(row, "AccountId")));
    }

    /// <summary>
    /// The index of devices by location (<c>device_locations</c>) holds exactly the locations each device of this test's
    /// accounts lists: nothing missing (a device a location would not show) and nothing left over (a deleted device or a
    /// location a device left).
    /// </summary>
    protected async Task AssertDeviceLocationsMatchDevicesAsync()
    {
        await using var scope = Api.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DevicesDbContext>();
        var listed = (await Mine(db.Devices).ToListAsync())
            .SelectMany(d => d.LocationIds.Select(l => $"{d.AccountId} {d.LiveMode} {d.Id} {l}")).Order(StringComparer.Ordinal).ToList();
        var indexed = (await Mine(db.DeviceLocations).ToListAsync())
            .Select(l => $"{l.AccountId} {l.LiveMode} {l.DeviceId} {l.LocationId}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(listed, indexed);
    }

    /// <summary>Every stored event of this test's accounts, in the feed's order (oldest first), read from the database itself.</summary>
    protected async Task<List<Flatpeak.Devices.Api.Events.ApiEvent>> StoredEventsAsync()
    {
        await using var scope = Api.Factory.Services.CreateAsyncScope();
        return await Mine(scope.ServiceProvider.GetRequiredService<DevicesDbContext>().Events)
            .OrderBy(e => e.TransactionId).ThenBy(e => e.Id).ToListAsync();
    }

    /// <summary>A fresh account and a client logged in with its key of the given mode.</summary>
    /// <summary>
    /// A service on a new database with a clock the test moves (<see cref="MovableClock"/>), and a client of a new account,
    /// signed in before the clock moves: the bearer check reads the system clock.
    /// </summary>
    protected async Task<ClockedService> ClockedServiceAsync(string databasePrefix)
    {
        var database = await Api.NewDatabaseAsync(databasePrefix);
        var clock = new MovableClock();
        var service = Api.Factory.WithWebHostBuilder(web =>
        {
            web.UseSetting("ConnectionStrings:Postgres", database);
            web.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(clock));
        });
        var account = await ApiFixture.CreateAccountAsync(service.Services, "Clocked");
        using var anonymous = ApiFixture.Client(service);
        var client = ApiFixture.Client(service, await ApiFixture.LoginAsync(anonymous, account.AccountId, account.TestKey));
        return new ClockedService(service, database, clock, client);
    }

    protected async Task<(AccountCreated Account, HttpClient Client)> SignInAsync(bool liveMode = false, string name = "Acme")
    {
        var account = await CreateAccountAsync(name);
        var token = await Api.LoginAsync(account.AccountId, liveMode ? account.LiveKey : account.TestKey);
        return (account, Api.Client(token));
    }

    protected static async Task<string> CreateLocationAsync(HttpClient client, string body = "{}")
    {
        using var response = await PostJsonAsync(client, "/locations", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await ReadJsonAsync(response)).GetProperty("id").GetString()!;
    }

    protected static async Task<string> CreateCustomerAsync(HttpClient client, string body = "{}")
    {
        using var response = await PostJsonAsync(client, "/customers", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await ReadJsonAsync(response)).GetProperty("id").GetString()!;
    }

    protected static async Task<string> CreateWebhookAsync(HttpClient client, string url, string[] events, string status = "enabled")
    {
        using var response = await PostJsonAsync(client, "/webhooks", JsonSerializer.Serialize(new { url, enabled_events = events, status }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await ReadJsonAsync(response)).GetProperty("id").GetString()!;
    }

    /// <summary>The ids of one page of a list endpoint, in the order given.</summary>
    protected static async Task<List<string>> ListIdsAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await ReadJsonAsync(response)).GetProperty("data").EnumerateArray().Select(o => o.GetProperty("id").GetString()!)];
    }

    protected static HttpRequestMessage Patch(string path, string json) =>
        new(HttpMethod.Patch, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    /// <summary>A PATCH of <paramref name="path"/> that must answer 200; its body.</summary>
    /// <summary>A patch that must succeed: <c>200</c>, or <c>202</c> for a customer (Flatpeak's declared code).</summary>
    protected static async Task<JsonElement> PatchOkAsync(HttpClient client, string path, string json)
    {
        using var response = await client.SendAsync(Patch(path, json));
        Assert.Equal(path.StartsWith("/customers/", StringComparison.Ordinal) ? HttpStatusCode.Accepted : HttpStatusCode.OK, response.StatusCode);
        return await ReadJsonAsync(response);
    }

    /// <summary>Every successful delete answers <c>202</c> with Flatpeak's message and the object's id, kind and mode.</summary>
    protected static async Task AssertDeletedAsync(HttpResponseMessage response, string id, string kind, bool liveMode = false)
    {
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Null(response.Headers.Location);
        var body = await ReadJsonAsync(response);
        Assert.Equal(["message", "id", "object", "live_mode", "deleted"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("Accepted", body.GetProperty("message").GetString());
        Assert.Equal(id, body.GetProperty("id").GetString());
        Assert.Equal(kind, body.GetProperty("object").GetString());
        Assert.Equal(liveMode, body.GetProperty("live_mode").GetBoolean());
        Assert.True(body.GetProperty("deleted").GetBoolean());
    }

    protected static async Task<JsonElement> CreateDeviceAsync(HttpClient client, string body)
    {
        using var response = await PostJsonAsync(client, "/devices", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await ReadJsonAsync(response);
    }

    /// <summary>
    /// Creates <paramref name="count"/> devices from <paramref name="body"/>, alternating between two clients (two
    /// instances), 32 at a time as a busy client would: many more at once on a shared 2-core machine would be an
    /// overload test (answered 503 by design once the pool wait or the request budget is spent). Each must answer 201;
    /// returns their ids, in the order sent.
    /// </summary>
    protected static async Task<string[]> CreateDevicesOverAsync(HttpClient first, HttpClient second, string body, int count)
    {
        using var inFlight = new SemaphoreSlim(32);
        return await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await inFlight.WaitAsync();
            try
            {
                return (await CreateDeviceAsync(i % 2 == 0 ? first : second, body)).GetProperty("id").GetString()!;
            }
            finally
            {
                inFlight.Release();
            }
        }));
    }

    protected static Task<HttpResponseMessage> PostJsonAsync(HttpClient client, string path, string json) =>
        client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    /// <summary>A POST with an <c>Idempotency-Key</c> (none when <paramref name="idempotencyKey"/> is null).</summary>
    protected static async Task<HttpResponseMessage> PostJsonAsync(HttpClient client, string path, string json, string? idempotencyKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await client.SendAsync(request);
    }

    protected static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>();

    protected async Task AssertNoDevicesAsync() => Assert.Equal(0, await CountMineAsync(db => db.Devices));

    /// <summary>Asserts every field of the API's error object.</summary>
    protected static async Task<JsonElement> AssertErrorAsync(
        HttpResponseMessage response, HttpStatusCode status, string context, string code, string? param = null, bool liveMode = false)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = await ReadJsonAsync(response);
        var requestId = Assert.Single(response.Headers.GetValues("Request-Id"));
        Assert.Equal(
            ["object", "live_mode", "context", "type", "code", "message", "param", "request_id", "time_created"],
            error.EnumerateObject().Select(p => p.Name));
        Assert.Equal("error", error.GetProperty("object").GetString());
        Assert.Equal(liveMode, error.GetProperty("live_mode").GetBoolean());
        Assert.Equal(context, error.GetProperty("context").GetString());
        var expectedType = (int)status switch { 429 => "rate_limit", >= 500 => "api_error", _ => "invalid_request" };
        Assert.Equal(expectedType, error.GetProperty("type").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        if (param is null)
        {
            Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        }
        else
        {
            Assert.Equal(param, error.GetProperty("param").GetString());
        }

        Assert.Equal(requestId, error.GetProperty("request_id").GetString());
        Assert.Matches("^req_[0-9a-f]{24}$", requestId);
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", error.GetProperty("time_created").GetString());
        return error;
    }
}
