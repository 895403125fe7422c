using System.Net;
using System.Text;
using System.Text.Json;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Idempotency;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Flatpeak.Devices.Tests.Idempotency;

public sealed class IdempotencyTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task A_retry_with_the_same_key_and_body_replays_the_first_response_and_creates_nothing()
    {
        var (_, client) = await SignInAsync();
        var body = CreateDeviceTests.SeedBody(await CreateLocationAsync(client));

        using var first = await SendAsync(client, "/devices", body, "key-1");
        using var second = await SendAsync(client, "/devices", body, "key-1");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal("true", Assert.Single(second.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.Equal("application/json", second.Content.Headers.ContentType?.MediaType);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal(1, await CountAsync(db => db.Devices));
        Assert.Equal(1, await CountAsync(db => db.Events.Where(e => e.Type == "device.create")));
    }

    [Fact]
    public async Task The_same_key_with_another_body_answers_422()
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);
        using var first = await SendAsync(client, "/devices", CreateDeviceTests.SeedBody(location), "key-1");

        using var second = await SendAsync(client, "/devices", CreateDeviceTests.SeedBody(location).Replace("Pico Ultimate", "Pico Max", StringComparison.Ordinal), "key-1");

        await AssertErrorAsync(second, HttpStatusCode.UnprocessableEntity, "api.device_create", "idempotency_key_reused", "Idempotency-Key");
        Assert.Equal(1, await CountAsync(db => db.Devices));
    }

    [Fact]
    public async Task The_same_key_on_another_endpoint_answers_422()
    {
        var (_, client) = await SignInAsync();
        using var first = await SendAsync(client, "/locations", "{}", "key-1");

        using var second = await SendAsync(client, "/devices", CreateDeviceTests.SeedBody("loc_641b90b758fb8e6293716e40"), "key-1");

        await AssertErrorAsync(second, HttpStatusCode.UnprocessableEntity, "api.device_create", "idempotency_key_reused", "Idempotency-Key");
    }

    [Fact]
    public async Task Keys_belong_to_an_account_and_a_mode()
    {
        var (acme, acmeTest) = await SignInAsync(name: "Acme");
        var (_, globex) = await SignInAsync(name: "Globex");
        using var acmeLive = Api.Client(await Api.LoginAsync(acme.AccountId, acme.LiveKey));

        foreach (var client in new[] { acmeTest, globex, acmeLive })
        {
            using var response = await SendAsync(client, "/locations", "{}", "shared-key");
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.False(response.Headers.Contains("Idempotent-Replayed"));
        }

        Assert.Equal(3, await CountAsync(db => db.Locations));
    }

    [Fact]
    public async Task A_validation_failure_is_not_remembered()
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);

        using var invalid = await SendAsync(client, "/devices", CreateDeviceTests.SeedBody(location).Replace("\"BATTERY_SYSTEM\"", "\"KETTLE\"", StringComparison.Ordinal), "key-1");
        using var valid = await SendAsync(client, "/devices", CreateDeviceTests.SeedBody(location), "key-1");

        await AssertErrorAsync(invalid, HttpStatusCode.BadRequest, "api.device_create", "type_invalid", "type");
        Assert.Equal(HttpStatusCode.Created, valid.StatusCode);
        Assert.False(valid.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task A_refusal_of_the_endpoint_itself_is_remembered_like_a_success()
    {
        var (_, client) = await SignInAsync();
        var body = CreateDeviceTests.SeedBody("loc_000000000000000000000000");

        using var first = await SendAsync(client, "/devices", body, "key-1");
        using var second = await SendAsync(client, "/devices", body, "key-1");

        var error = await AssertErrorAsync(first, HttpStatusCode.BadRequest, "api.device_create", "location_not_found", "locations[0]");
        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        Assert.Equal("true", Assert.Single(second.Headers.GetValues("Idempotent-Replayed")));
        // The same error again, but naming this request: its request_id is its own Request-Id.
        var replayed = await ReadJsonAsync(second);
        Assert.Equal(Assert.Single(second.Headers.GetValues("Request-Id")), replayed.GetProperty("request_id").GetString());
        Assert.NotEqual(error.GetProperty("request_id").GetString(), replayed.GetProperty("request_id").GetString());
        foreach (var field in error.EnumerateObject().Where(f => f.Name != "request_id"))
        {
            Assert.True(JsonElement.DeepEquals(field.Value, replayed.GetProperty(field.Name)), field.Name);
        }
    }

    [Fact]
    public async Task A_retry_while_the_first_request_runs_answers_409()
    {
        // A budget far beyond the test's own waits: on a slow machine the held first request must not run out of it.
        await using var patient = Api.Factory.WithWebHostBuilder(web => web.UseSetting("Database:RequestBudgetSeconds", "120"));
        var account = await CreateAccountAsync();
        using var client = ApiFixture.Client(patient, await Api.LoginAsync(account.AccountId, account.TestKey));
        var body = CreateDeviceTests.SeedBody(await CreateLocationAsync(client));
        await using var scope = Api.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DevicesDbContext>();
        // Hold the first request inside its transaction: it waits for this lock to insert its device.
        await using var blocker = await db.Database.BeginTransactionAsync();
        await db.Database.ExecuteSqlRawAsync("LOCK TABLE devices IN ACCESS EXCLUSIVE MODE");

        var first = SendAsync(client, "/devices", body, "key-1");
        await Wait.UntilAsync(async () => await CountKeysAsync() == 1, TimeSpan.FromSeconds(10), "the first request to take the key");
        using var second = await SendAsync(client, "/devices", body, "key-1");
        await blocker.RollbackAsync();
        using var firstResponse = await first;

        await AssertErrorAsync(second, HttpStatusCode.Conflict, "api.device_create", "idempotency_key_in_use", "Idempotency-Key");
        Assert.Equal(HttpStatusCode.Created, firstResponse.StatusCode);
        using var third = await SendAsync(client, "/devices", body, "key-1");
        Assert.Equal("true", Assert.Single(third.Headers.GetValues("Idempotent-Replayed")));
    }

    [Theory]
    [InlineData("256 characters")]
    [InlineData("clé")]
    [InlineData("two\tparts")]
    public async Task A_key_longer_than_255_characters_or_not_printable_ascii_answers_400(string key)
    {
        var (_, client) = await SignInAsync();

        using var response = await SendAsync(client, "/locations", "{}", key == "256 characters" ? new string('k', 256) : key);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.location_create", "idempotency_key_invalid", "Idempotency-Key");
        Assert.Equal(0, await CountAsync(db => db.Locations));
    }

    [Theory]
    [InlineData("key-1", "key-2")]
    [InlineData("key-1, key-2")]
    public async Task A_key_sent_twice_in_one_request_answers_400_naming_the_header(params string[] values)
    {
        var (_, client) = await SignInAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/locations") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", values);

        using var response = await client.SendAsync(request);

        var error = await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.location_create", "idempotency_key_invalid", "Idempotency-Key");
        Assert.Contains(values.Length == 1 ? "more than one key" : "more than once", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, await CountAsync(db => db.Locations));
        Assert.Equal(0, await CountKeysAsync());
    }

    [Fact]
    public async Task A_key_of_255_characters_is_accepted()
    {
        var (_, client) = await SignInAsync();

        using var response = await SendAsync(client, "/locations", "{}", new string('k', 255));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task A_key_older_than_24_hours_counts_as_new_and_is_pruned()
    {
        var (_, client) = await SignInAsync();
        using var first = await SendAsync(client, "/locations", "{}", "old-key");
        await ExecuteAsync("UPDATE idempotency_keys SET time_created = now() - interval '25 hours' WHERE {mine}");

        using var again = await SendAsync(client, "/locations", "{}", "old-key");
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.False(again.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, await CountAsync(db => db.Locations));

        await ExecuteAsync("UPDATE idempotency_keys SET time_created = now() - interval '25 hours' WHERE {mine}");
        using var other = await SendAsync(client, "/locations", "{}", "fresh-key");
        var pruned = await Api.Factory.Services.GetRequiredService<IdempotencyKeyPruner>().PruneOnceAsync(CancellationToken.None);
        // The count is the whole database's (other tests' keys may expire too); what is left is counted in this test's accounts.
        Assert.True(pruned >= 1, $"pruned {pruned}");
        await using var scope = Api.Factory.Services.CreateAsyncScope();
        Assert.Equal(["fresh-key"], await Mine(scope.ServiceProvider.GetRequiredService<DevicesDbContext>().IdempotencyKeys).Select(k => k.Key).ToListAsync());
    }

    [Fact]
    public async Task A_key_left_running_by_a_vanished_request_can_be_taken_after_a_minute()
    {
        var (_, client) = await SignInAsync();
        using var first = await SendAsync(client, "/locations", "{}", "key-1");
        await ExecuteAsync("DELETE FROM locations WHERE {mine}; UPDATE idempotency_keys SET response_status = NULL, response_body = NULL, locked_at = now() - interval '2 minutes' WHERE {mine}");

        using var retry = await SendAsync(client, "/locations", "{}", "key-1");

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, await CountAsync(db => db.Locations));
    }

    [Fact]
    public async Task A_key_left_running_cannot_be_taken_with_other_parameters()
    {
        var (_, client) = await SignInAsync();
        using var first = await SendAsync(client, "/locations", "{}", "key-1");
        await ExecuteAsync("UPDATE idempotency_keys SET response_status = NULL, response_body = NULL, locked_at = now() - interval '2 minutes' WHERE {mine}");

        using var other = await SendAsync(client, "/locations", """{"reference_id":"OTHER"}""", "key-1");
        using var retry = await SendAsync(client, "/locations", "{}", "key-1");

        await AssertErrorAsync(other, HttpStatusCode.UnprocessableEntity, "api.location_create", "idempotency_key_reused", "Idempotency-Key");
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(2, await CountAsync(db => db.Locations));
    }

    [Fact]
    public async Task A_webhook_create_that_fails_storing_its_replay_commits_nothing_so_its_retry_creates_one_webhook()
    {
        var (_, client) = await SignInAsync();
        var key = "fails-once-" + Guid.NewGuid().ToString("N");
        var body = """{"url":"https://example.com/hook","enabled_events":["*"]}""";
        // The write of this key's replay fails, as a lost connection at that moment would.
        await ExecuteAsync($$"""
            CREATE FUNCTION fail_{{key.Replace('-', '_')}}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.key = '{{key}}' AND NEW.response_status IS NOT NULL THEN RAISE EXCEPTION 'injected failure'; END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER fail_{{key.Replace('-', '_')}} BEFORE UPDATE ON idempotency_keys
              FOR EACH ROW EXECUTE FUNCTION fail_{{key.Replace('-', '_')}}();
            """);
        HttpStatusCode failedStatus;
        try
        {
            using var failed = await SendAsync(client, "/webhooks", body, key);
            failedStatus = failed.StatusCode;
        }
        finally
        {
            await ExecuteAsync($"DROP TRIGGER fail_{key.Replace('-', '_')} ON idempotency_keys; DROP FUNCTION fail_{key.Replace('-', '_')}();");
        }

        using var retry = await SendAsync(client, "/webhooks", body, key);
        using var replay = await SendAsync(client, "/webhooks", body, key);

        Assert.Equal(HttpStatusCode.InternalServerError, failedStatus);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal((await ReadJsonAsync(retry)).GetProperty("id").GetString(), (await ReadJsonAsync(replay)).GetProperty("id").GetString());
        Assert.Equal(1, await CountAsync(db => db.Webhooks));
    }

    [Fact]
    public async Task Webhook_creates_racing_with_one_key_store_one_endpoint_and_every_201_is_it()
    {
        var (_, client) = await SignInAsync();
        var body = """{"url":"https://example.com/race","enabled_events":["*"]}""";

        var answers = await Race.RunAsync(Enumerable.Range(0, 12).Select(i => ($"{i}", HttpMethod.Post,
            Race.Send(() => SendAsync(client, "/webhooks", body, "race-key")))));

        var created = answers.Where(a => a.Status == HttpStatusCode.Created).Select(a => a.Body.GetProperty("id").GetString()!).Distinct().ToList();
        Assert.Single(created);
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.Created), a =>
        {
            Assert.Equal(HttpStatusCode.Conflict, a.Status);
            Assert.Equal("idempotency_key_in_use", a.Body.GetProperty("code").GetString());
        });
        Assert.Equal(created, await ListIdsAsync(client, "/webhooks"));
        Assert.Equal(1, await CountAsync(db => db.Webhooks));
        Assert.Equal(1, await CountAsync(db => db.Set<Flatpeak.Devices.Api.Webhooks.WebhookFeedPosition>()));
        Assert.Equal(1, await CountKeysAsync());
        // Webhook endpoints write no events.
        Assert.Empty(await StoredEventsAsync());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("lost-ack")]
    public async Task A_webhook_create_whose_commit_acknowledgement_is_lost_answers_201_and_stores_one_webhook(string? key)
    {
        await using var proxied = await ProxiedAsync();
        var (proxy, client) = (proxied.Proxy, proxied.Client);
        var body = """{"url":"https://example.com/hook","enabled_events":["*"]}""";

        proxy.CutCommitAfter("INSERT INTO webhooks");
        using var created = key is null ? await PostJsonAsync(client, "/webhooks", body) : await SendAsync(client, "/webhooks", body, key);

        // The commit went through and its answer was lost: the retry sees the endpoint there and answers for it.
        Assert.Equal(1, proxy.Cuts);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await ReadJsonAsync(created)).GetProperty("id").GetString();
        Assert.Equal([id!], await ListIdsAsync(client, "/webhooks"));
        if (key is not null)
        {
            using var replay = await SendAsync(client, "/webhooks", body, key);
            Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
            Assert.Equal(id, (await ReadJsonAsync(replay)).GetProperty("id").GetString());
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("batch-lost-ack")]
    public async Task A_device_create_whose_batch_statement_acknowledgement_is_lost_answers_201_and_stores_one_device(string? key)
    {
        await using var proxied = await ProxiedAsync();
        var (proxy, client) = (proxied.Proxy, proxied.Client);
        var location = await CreateLocationAsync(client);

        proxy.CutAnswerTo("WITH new_device");
        using var created = key is null
            ? await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(location))
            : await SendAsync(client, "/devices", CreateDeviceTests.SeedBody(location), key);

        // The statement committed and its answer was lost: the batcher finds the device's event and answers for it.
        Assert.Equal(1, proxy.Cuts);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await ReadJsonAsync(created)).GetProperty("id").GetString()!;
        await using (var scope = proxied.Service.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<DevicesDbContext>();
            Assert.Equal([id], await db.Devices.Where(d => d.AccountId == proxied.AccountId).Select(d => d.Id).ToListAsync());
            Assert.Equal([id], await db.Events.Where(e => e.AccountId == proxied.AccountId && e.Type == "device.create").Select(e => e.ObjectId).ToListAsync());
        }

        if (key is not null)
        {
            using var replay = await SendAsync(client, "/devices", CreateDeviceTests.SeedBody(location), key);
            Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
            Assert.Equal(id, (await ReadJsonAsync(replay)).GetProperty("id").GetString());
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("state-lost-ack")]
    public async Task A_state_submission_whose_batch_statement_acknowledgement_is_lost_answers_200_and_stores_one_record_its_key_replays(string? key)
    {
        await using var proxied = await ProxiedAsync();
        var (proxy, client) = (proxied.Proxy, proxied.Client);
        var device = (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(await CreateLocationAsync(client)))).GetProperty("id").GetString()!;
        var path = $"/devices/{device}/state";
        // No record_reference_id: only the Idempotency-Key can tell a retry from a new record.
        var body = $$"""{"time":"{{DateTimeOffset.UtcNow.AddMinutes(-1).UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}}","state_of_charge_percent":50,"target_state_of_charge_percent":80}""";

        proxy.CutAnswerTo("WITH submitted");
        using var stored = key is null
            ? await client.PutAsync(path, new StringContent(body, Encoding.UTF8, "application/json"))
            : await SendAsync(client, path, body, key, HttpMethod.Put);

        // The statement committed and its answer was lost: the batcher finds the record and answers for it; the key's
        // replay was stored by the same statement.
        Assert.Equal(1, proxy.Cuts);
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        var id = (await ReadJsonAsync(stored)).GetProperty("id").GetString()!;
        await using (var scope = proxied.Service.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<DevicesDbContext>();
            Assert.Equal([id], await db.DeviceStates.Where(s => s.AccountId == proxied.AccountId).Select(s => s.Id).ToListAsync());
        }

        if (key is not null)
        {
            using var replay = await SendAsync(client, path, body, key, HttpMethod.Put);
            Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
            Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
            var replayed = await ReadJsonAsync(replay);
            Assert.Equal(id, replayed.GetProperty("id").GetString());
            Assert.Equal(device, replayed.GetProperty("device_id").GetString());
            await using var scope = proxied.Service.Services.CreateAsyncScope();
            Assert.Equal(1, await scope.ServiceProvider.GetRequiredService<DevicesDbContext>().DeviceStates.CountAsync(s => s.AccountId == proxied.AccountId));
        }
    }

    [Fact]
    public async Task A_keyed_create_whose_claim_acknowledgement_is_lost_creates_once_and_its_retry_never_finds_the_key_held()
    {
        await using var proxied = await ProxiedAsync();
        var (proxy, client) = (proxied.Proxy, proxied.Client);
        var location = await CreateLocationAsync(client);

        proxy.CutAnswerTo("INSERT INTO idempotency_keys");
        using var first = await SendAsync(client, "/devices", CreateDeviceTests.SeedBody(location), "claim-lost");
        using var retry = await SendAsync(client, "/devices", CreateDeviceTests.SeedBody(location), "claim-lost");

        // The claim committed and its answer was lost: the request knows its own claim and goes on (or, failing, lets it
        // go), so the retry replays or creates; it is never told the key is in use by a request that has ended.
        Assert.Equal(1, proxy.Cuts);
        Assert.Contains(first.StatusCode, new[] { HttpStatusCode.Created, HttpStatusCode.ServiceUnavailable });
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        await using var scope = proxied.Service.Services.CreateAsyncScope();
        var devices = await scope.ServiceProvider.GetRequiredService<DevicesDbContext>().Devices.Where(d => d.AccountId == proxied.AccountId).Select(d => d.Id).ToListAsync();
        Assert.Equal([(await ReadJsonAsync(retry)).GetProperty("id").GetString()!], devices);
    }

    /// <summary>A service of its own on a database of its own, reached through a <see cref="CuttingProxy"/>, and a client of a new account.</summary>
    private async Task<Proxied> ProxiedAsync()
    {
        var database = await Api.NewDatabaseAsync("proxied");
        var direct = new Npgsql.NpgsqlConnectionStringBuilder(database);
        var proxy = CuttingProxy.Start(direct.Host!, direct.Port);
        var service = Api.Factory.WithWebHostBuilder(web => web.UseSetting("ConnectionStrings:Postgres", proxy.Through(database)));
        var account = await ApiFixture.CreateAccountAsync(service.Services, "Proxied");
        using var anonymous = ApiFixture.Client(service);
        var client = ApiFixture.Client(service, await ApiFixture.LoginAsync(anonymous, account.AccountId, account.TestKey));
        return new Proxied(proxy, service, client, account.AccountId);
    }

    private sealed record Proxied(CuttingProxy Proxy, Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> Service, HttpClient Client, string AccountId) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await Service.DisposeAsync();
            await Proxy.DisposeAsync();
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string path, string body, string key, HttpMethod? method = null)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        return await client.SendAsync(request);
    }

    private Task<int> CountAsync<T>(Func<DevicesDbContext, IQueryable<T>> set)
        where T : class => CountMineAsync(set);

    private Task<int> CountKeysAsync() => CountAsync(db => db.IdempotencyKeys);

    /// <summary>Runs SQL on this test's rows only: <c>{mine}</c> stands for "the row belongs to one of this test's accounts".</summary>
    private async Task ExecuteAsync(string sql)
    {
        await using var scope = Api.Factory.Services.CreateAsyncScope();
        var mine = "account_id IN (" + string.Join(", ", MyAccounts.Select(a => $"'{a}'")) + ")";
        await scope.ServiceProvider.GetRequiredService<DevicesDbContext>().Database.ExecuteSqlRawAsync(sql.Replace("{mine}", mine, StringComparison.Ordinal));
    }
}
