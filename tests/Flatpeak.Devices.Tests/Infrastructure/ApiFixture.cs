using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Flatpeak.Devices.Api.Accounts;
using Flatpeak.Devices.Api.Data;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Flatpeak.Devices.Tests.Infrastructure;

/// <summary>One PostgreSQL and one service per test run, shared by every integration test.</summary>
public sealed class ApiFixture : IAsyncLifetime
{
    public const string SigningKey = "test-signing-key-of-the-flatpeak-devices-tests-0123456789";
    public const string Issuer = "flatpeak-devices";

    private TestPostgres? _postgres;

    public TestPostgres Postgres => _postgres ?? throw new InvalidOperationException("Not started.");

    public WebApplicationFactory<Program> Factory { get; private set; } = null!;

    /// <summary>Where the service's logs go: the output of the test that is running (it sets this).</summary>
    public TestOutputLoggerProvider Logs { get; } = new();

    /// <summary>The two signing keys the service is configured with (the first signs), as base64 PKCS#8.</summary>
    public static readonly IReadOnlyList<(string KeyId, string PrivateKey)> WebhookKeys =
    [
        ("test-key-1", Convert.ToBase64String(System.Security.Cryptography.RSA.Create(2048).ExportPkcs8PrivateKey())),
        ("test-key-2", Convert.ToBase64String(System.Security.Cryptography.RSA.Create(2048).ExportPkcs8PrivateKey())),
    ];

    public static readonly IReadOnlyList<TimeSpan> WebhookSchedule = [TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)];

    public static IEnumerable<(string Key, string Value)> WebhookSettings =>
    [
        ("Webhooks:AllowPrivateNetworks", "true"),
        ("Webhooks:TimeoutSeconds", "2"),
        ("Webhooks:PollSeconds", "0.1"),
        ("Webhooks:ActiveSigningKey", WebhookKeys[0].KeyId),
        .. WebhookSchedule.Select((delay, i) => ($"Webhooks:RetrySchedule:{i}", delay.ToString("c", System.Globalization.CultureInfo.InvariantCulture))),
        .. WebhookKeys.SelectMany((key, i) => new[] { ($"Webhooks:SigningKeys:{i}:KeyId", key.KeyId), ($"Webhooks:SigningKeys:{i}:PrivateKey", key.PrivateKey) }),
    ];

    public async Task InitializeAsync()
    {
        _postgres = await TestPostgres.StartAsync();
        Factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Testing");
            web.ConfigureLogging(logging => logging.AddProvider(Logs));
            web.UseSetting("ConnectionStrings:Postgres", _postgres.ConnectionString);
            web.UseSetting("Auth:SigningKey", SigningKey);
            web.UseSetting("Auth:Issuer", Issuer);
            // Far above what the tests send; RateLimitingTests has its own instance with a small bucket.
            web.UseSetting("RateLimiting:TokenLimit", "1000000");
            web.UseSetting("RateLimiting:TokensPerPeriod", "1000000");
            // Every test client has the same (absent) address; LoginThrottleTests has its own instance with small limits.
            web.UseSetting("Login:MaxFailuresPerAccount", "1000000");
            web.UseSetting("Login:MaxFailuresPerAddress", "1000000");
            // Receivers are test servers on loopback; the schedule is Flatpeak's, shortened to seconds.
            foreach (var (key, value) in WebhookSettings)
            {
                web.UseSetting(key, value);
            }
        });
        // Starting the server applies the migrations.
        Factory.CreateClient().Dispose();
    }

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    public HttpClient Client(string? bearerToken = null) => Client(Factory, bearerToken);

    /// <summary>A client of <paramref name="factory"/> (this service or a variant of it with other settings), with a bearer token if given.</summary>
    public static HttpClient Client(WebApplicationFactory<Program> factory, string? bearerToken = null)
    {
        var client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        if (bearerToken is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        }

        return client;
    }

    /// <summary>A new, empty database in this run's PostgreSQL, for a service process of its own; returns its connection string.</summary>
    public async Task<string> NewDatabaseAsync(string prefix)
    {
        var database = prefix + "_" + Guid.NewGuid().ToString("N")[..12];
        // Not pooled: a pooled connection may be one an outage test has since killed.
        await using (var admin = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(Postgres.ConnectionString) { Pooling = false }.ConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new Npgsql.NpgsqlCommand($"CREATE DATABASE {database}", admin);
            await create.ExecuteNonQueryAsync();
        }

        return new Npgsql.NpgsqlConnectionStringBuilder(Postgres.ConnectionString) { Database = database }.ConnectionString;
    }

    /// <summary>Creates an account through the operator command's own code, as an operator would.</summary>
    public Task<AccountCreated> CreateAccountAsync(string name = "Acme") => CreateAccountAsync(Factory.Services, name);

    /// <summary>Creates an account in the database of the service whose services these are (this one or a variant).</summary>
    public static async Task<AccountCreated> CreateAccountAsync(IServiceProvider services, string name)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await OperatorCommands.RunAsync(services, ["accounts", "create", "--name", name], stdout, stderr);
        Assert.True(exit == 0, stderr.ToString());
        return JsonSerializer.Deserialize(stdout.ToString(), Flatpeak.Devices.Api.Common.Json.ApiJsonContext.Default.AccountCreated)!;
    }

    public async Task<string> LoginAsync(string accountId, string apiKey)
    {
        using var client = Client();
        return await LoginAsync(client, accountId, apiKey);
    }

    /// <summary>A bearer token from <c>GET /login</c> of whichever service <paramref name="client"/> talks to.</summary>
    public static async Task<string> LoginAsync(HttpClient client, string accountId, string apiKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/login");
        request.Headers.Authorization = BasicAuth(accountId, apiKey);
        using var response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("bearer_token").GetString()!;
    }

    public static AuthenticationHeaderValue BasicAuth(string user, string password) =>
        new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{password}")));
}

/// <summary>Most tests: one PostgreSQL and one service, tests one after the other, kept apart by their own accounts.</summary>
[CollectionDefinition(Name)]
public sealed class ApiTestGroup : ICollectionFixture<ApiFixture>
{
    public const string Name = "api";
}

/// <summary>Tests that stop, lock or exhaust the database: a PostgreSQL of their own, so that the others run meanwhile.</summary>
[CollectionDefinition(Name)]
public sealed class DatabaseFaultsGroup : ICollectionFixture<ApiFixture>
{
    public const string Name = "database-faults";
}

/// <summary>Tests that run the built service as processes: a PostgreSQL of their own too.</summary>
[CollectionDefinition(Name)]
public sealed class ProcessesGroup : ICollectionFixture<ApiFixture>
{
    public const string Name = "processes";
}
