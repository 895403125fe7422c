using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Flatpeak.Devices.Tests.Webhooks;

/// <summary>Webhook endpoints and delivery, with a real receiver on loopback (API.md, "Webhooks").</summary>
public sealed class WebhookTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Create_then_get_returns_every_field_and_the_list_patch_and_delete_work()
    {
        var (account, client) = await SignInAsync();

        using var created = await PostJsonAsync(client, "/webhooks", """{"url":"https://example.com/hook","enabled_events":["device.create"],"description":"Ops"}""");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var webhook = await ReadJsonAsync(created);
        var id = webhook.GetProperty("id").GetString()!;
        Assert.Matches("^whe_[0-9a-f]{24}$", id);
        Assert.Equal(
            ["id", "object", "live_mode", "account_id", "url", "enabled_events", "status", "description", "time_created"],
            webhook.EnumerateObject().Select(p => p.Name));
        Assert.Equal("webhook", webhook.GetProperty("object").GetString());
        Assert.Equal(account.AccountId, webhook.GetProperty("account_id").GetString());
        Assert.Equal("enabled", webhook.GetProperty("status").GetString());
        Assert.Equal(["device.create"], webhook.GetProperty("enabled_events").EnumerateArray().Select(e => e.GetString()));

        using var patched = await client.SendAsync(Patch($"/webhooks/{id}", """{"status":"disabled","description":null,"enabled_events":["*"]}"""));
        var body = await ReadJsonAsync(patched);
        Assert.Equal("disabled", body.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("description").ValueKind);
        Assert.Equal(["*"], body.GetProperty("enabled_events").EnumerateArray().Select(e => e.GetString()));
        using var stored = await client.GetAsync($"/webhooks/{id}");
        Assert.Equal(body.GetRawText(), (await ReadJsonAsync(stored)).GetRawText());
        Assert.Equal([id], await ListIdsAsync(client, "/webhooks"));
        Assert.Equal(1, await CountMineAsync(db => db.Set<Flatpeak.Devices.Api.Webhooks.WebhookFeedPosition>()));

        var (_, other) = await SignInAsync(name: "Other");
        using var foreign = await other.GetAsync($"/webhooks/{id}");
        await AssertErrorAsync(foreign, HttpStatusCode.NotFound, "api.webhook_get", "webhook_not_found", "id");
        using var deleted = await client.DeleteAsync($"/webhooks/{id}");
        await AssertDeletedAsync(deleted, id, "webhook");
        using var gone = await client.GetAsync($"/webhooks/{id}");
        await AssertErrorAsync(gone, HttpStatusCode.NotFound, "api.webhook_get", "webhook_not_found", "id");
    }

    [Fact]
    public async Task Parallel_patches_of_different_fields_all_land_and_a_racing_delete_answers_once()
    {
        var (_, client) = await SignInAsync();
        var patched = await CreateWebhookAsync(client, "https://example.com/a", ["device.create"]);
        var deleted = await CreateWebhookAsync(client, "https://example.com/b", ["device.create"]);
        string[] patches = ["""{"url":"https://example.com/new"}""", """{"description":"Ops"}""", """{"status":"disabled"}""", """{"enabled_events":["*"]}"""];

        var answers = await Race.RunAsync(
            patches.Select(p => (patched, HttpMethod.Patch, Race.Send(() => client.SendAsync(Patch($"/webhooks/{patched}", p)))))
                .Concat(patches.Select(p => (deleted, HttpMethod.Patch, Race.Send(() => client.SendAsync(Patch($"/webhooks/{deleted}", p))))))
                .Concat(Enumerable.Range(0, 2).Select(_ => (deleted, HttpMethod.Delete, Race.Send(() => client.DeleteAsync($"/webhooks/{deleted}"))))));

        Assert.All(answers.Where(a => a.Id == patched), a => Assert.Equal(HttpStatusCode.OK, a.Status));
        using var stored = await client.GetAsync($"/webhooks/{patched}");
        var webhook = await ReadJsonAsync(stored);
        Assert.Equal("https://example.com/new", webhook.GetProperty("url").GetString());
        Assert.Equal("Ops", webhook.GetProperty("description").GetString());
        Assert.Equal("disabled", webhook.GetProperty("status").GetString());
        Assert.Equal(["*"], webhook.GetProperty("enabled_events").EnumerateArray().Select(e => e.GetString()));
        var deletes = answers.Where(a => a.Id == deleted && a.Method == HttpMethod.Delete).Select(a => a.Status).Order().ToList();
        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.NotFound], deletes);
        Assert.All(answers.Where(a => a.Id == deleted && a.Method == HttpMethod.Patch), a => Assert.Contains(a.Status, new[] { HttpStatusCode.OK, HttpStatusCode.NotFound }));
        Assert.Equal(1, await CountMineAsync(db => db.Webhooks));
        // One endpoint is left, so the account's feed position stays.
        Assert.Equal(1, await CountMineAsync(db => db.Set<Flatpeak.Devices.Api.Webhooks.WebhookFeedPosition>()));
    }

    [Fact]
    public async Task An_account_without_endpoints_is_not_read_and_its_next_endpoint_starts_at_the_end_of_its_feed()
    {
        await using var receiver = await Receiver.StartAsync();
        var (account, client) = await SignInAsync();
        var first = await CreateWebhookAsync(client, receiver.Url("/first"), ["device.create"]);
        using (await client.DeleteAsync($"/webhooks/{first}"))
        {
        }

        var location = await CreateLocationAsync(client);
        var unheard = (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(location))).GetProperty("id").GetString()!;
        var unheardAt = (await StoredEventsAsync()).Single(e => e.ObjectId == unheard).TransactionId;
        // With no endpoint, the position stands still, short of that event, through a dispatch round that saw it settled.
        await SentinelDeliveredAsync(receiver);
        Assert.True((await PositionAsync()).TransactionId < unheardAt, "the feed of an account without endpoints was read");

        var second = await CreateWebhookAsync(client, receiver.Url("/second"), ["device.create"]);
        var heard = (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(location))).GetProperty("id").GetString()!;

        await Wait.UntilAsync(() => receiver.To("/second").Any(), Deadline, "the second endpoint's delivery");
        // The second endpoint moved it past everything settled when it was created.
        Assert.True((await PositionAsync()).TransactionId > unheardAt);
        Assert.Equal([heard], receiver.To("/second").Select(r => r.ObjectId));
        Assert.Empty(receiver.To("/first"));
        Assert.Equal(second, (await ListIdsAsync(client, "/webhooks")).Single());

        async Task<Flatpeak.Devices.Api.Webhooks.WebhookFeedPosition> PositionAsync()
        {
            await using var scope = Api.Factory.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<Flatpeak.Devices.Api.Data.DevicesDbContext>();
            return await db.Set<Flatpeak.Devices.Api.Webhooks.WebhookFeedPosition>().SingleAsync(p => p.AccountId == account.AccountId);
        }
    }

    [Fact]
    public async Task Endpoints_created_at_once_while_devices_are_created_each_receive_every_later_event_once_and_no_earlier_one()
    {
        await using var receiver = await Receiver.StartAsync();
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);
        var created = new System.Collections.Concurrent.ConcurrentBag<(string Id, bool StartedAfter, bool AnsweredBefore)>();
        var endpointsRequested = 0;
        var endpointsAnswered = 0;
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var after = Volatile.Read(ref endpointsAnswered) == 1;
                var device = await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(location));
                created.Add((device.GetProperty("id").GetString()!, after, Volatile.Read(ref endpointsRequested) == 0));
            }
        })).ToList();
        await Wait.UntilAsync(() => created.Count >= 16, Deadline, "devices before the endpoints");

        // The account's first two endpoints at once: both start reading the feed from one position.
        string[] paths = ["a", "b"];
        Volatile.Write(ref endpointsRequested, 1);
        var answers = await Race.RunAsync(paths.Select(path => (path, HttpMethod.Post,
            Race.Send(() => PostJsonAsync(client, "/webhooks", $$"""{"url":"{{receiver.Url("/" + path)}}","enabled_events":["device.create"]}""")))));
        Volatile.Write(ref endpointsAnswered, 1);
        await Wait.UntilAsync(() => created.Count(c => c.StartedAfter) >= 32, Deadline, "devices after the endpoints");
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Created, a.Status));
        Assert.Equal(1, await CountMineAsync(db => db.Set<Flatpeak.Devices.Api.Webhooks.WebhookFeedPosition>()));
        var later = created.Where(c => c.StartedAfter).Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        var earlier = created.Where(c => c.AnsweredBefore).Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(earlier);
        foreach (var answer in answers)
        {
            var path = "/" + answer.Id;
            await Wait.UntilAsync(() => later.IsSubsetOf(receiver.To(path).Select(r => r.ObjectId)), Deadline, $"every later event at {path}");
            var received = receiver.To(path).Select(r => r.ObjectId).ToList();
            // Once each, and none of a device created (answered) before the endpoints were asked for.
            Assert.Equal(received.Count, received.Distinct(StringComparer.Ordinal).Count());
            Assert.DoesNotContain(received, earlier.Contains);
        }
    }

    [Theory]
    [InlineData("""{"enabled_events":["*"]}""", "url_missing", "url")]
    [InlineData("""{"url":"ftp://example.com","enabled_events":["*"]}""", "url_invalid", "url")]
    [InlineData("""{"url":"https://user:pw@example.com/","enabled_events":["*"]}""", "url_invalid", "url")]
    [InlineData("""{"url":"/relative","enabled_events":["*"]}""", "url_invalid", "url")]
    [InlineData("""{"url":"https://example.com"}""", "enabled_events_missing", "enabled_events")]
    [InlineData("""{"url":"https://example.com","enabled_events":[]}""", "enabled_events_invalid", "enabled_events")]
    [InlineData("""{"url":"https://example.com","enabled_events":["device.boom"]}""", "enabled_events_invalid", "enabled_events")]
    [InlineData("""{"url":"https://example.com","enabled_events":["*","device.create"]}""", "enabled_events_invalid", "enabled_events")]
    [InlineData("""{"url":"https://example.com","enabled_events":["*"],"status":"paused"}""", "status_invalid", "status")]
    public async Task A_bad_endpoint_is_refused(string body, string code, string param)
    {
        var (_, client) = await SignInAsync();

        using var response = await PostJsonAsync(client, "/webhooks", body);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "api.webhook_create", code, param);
        Assert.Equal(0, await CountMineAsync(db => db.Webhooks));
    }

    [Theory]
    [InlineData("http://127.0.0.1/hook")]
    [InlineData("http://localhost:8080/hook")]
    [InlineData("http://api.localhost/hook")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("http://10.0.0.1/hook")]
    [InlineData("http://0.0.0.0/hook")]
    [InlineData("http://2130706433/hook")]
    [InlineData("http://127.1/hook")]
    [InlineData("http://0x7f000001/hook")]
    [InlineData("http://[::ffff:127.0.0.1]/hook")]
    [InlineData("http://[fd00::1]/hook")]
    [InlineData("http://224.0.0.1/hook")]
    public async Task Destinations_that_can_only_be_private_are_refused_at_registration_unless_allowed(string url)
    {
        await using var strict = Api.Factory.WithWebHostBuilder(web => web.UseSetting("Webhooks:AllowPrivateNetworks", "false"));
        var account = await CreateAccountAsync();
        using var client = ApiFixture.Client(strict, await Api.LoginAsync(account.AccountId, account.TestKey));

        using var created = await PostJsonAsync(client, "/webhooks", $$"""{"url":"{{url}}","enabled_events":["*"]}""");
        var error = await AssertErrorAsync(created, HttpStatusCode.BadRequest, "api.webhook_create", "url_invalid", "url");
        Assert.Contains("private", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        // A name is resolved only when sending (the guard against DNS rebinding), so it registers; a patch to a private address does not.
        var named = await CreateWebhookAsync(client, "http://hooks.example.com/hook", ["*"]);
        using var patched = await client.SendAsync(Patch($"/webhooks/{named}", $$"""{"url":"{{url}}"}"""));
        await AssertErrorAsync(patched, HttpStatusCode.BadRequest, "api.webhook_update", "url_invalid", "url");
        Assert.Equal(1, await CountMineAsync(db => db.Webhooks));
        // With AllowPrivateNetworks (as in this suite's own service) the same URL registers; it is deleted at once.
        var (_, allowed) = await SignInAsync();
        using var gone = await allowed.DeleteAsync($"/webhooks/{await CreateWebhookAsync(allowed, url, ["*"])}");
        Assert.Equal(HttpStatusCode.Accepted, gone.StatusCode);
    }

    [Fact]
    public async Task Live_mode_takes_https_only_and_an_account_has_at_most_16_endpoints_per_mode_even_when_created_at_once()
    {
        var (_, live) = await SignInAsync(liveMode: true);
        using var http = await PostJsonAsync(live, "/webhooks", """{"url":"http://example.com/hook","enabled_events":["*"]}""");
        await AssertErrorAsync(http, HttpStatusCode.BadRequest, "api.webhook_create", "url_invalid", "url", liveMode: true);

        var (account, client) = await SignInAsync();
        var answers = await Race.RunAsync(Enumerable.Range(0, 24).Select(i => ($"{i}", HttpMethod.Post,
            Race.Send(() => PostJsonAsync(client, "/webhooks", $$"""{"url":"https://example.com/{{i}}","enabled_events":["*"]}""")))));

        Assert.Equal(16, answers.Count(a => a.Status == HttpStatusCode.Created));
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.Created), a => Assert.Equal("webhook_limit_reached", a.Body.GetProperty("code").GetString()));
        Assert.Equal(16, await CountMineAsync(db => db.Webhooks));
        // The limit is per mode: the same account's live mode still has room.
        using var sameAccountLive = ApiFixture.Client(Api.Factory, await Api.LoginAsync(account.AccountId, account.LiveKey));
        using var inLive = await PostJsonAsync(sameAccountLive, "/webhooks", """{"url":"https://example.com/live","enabled_events":["*"]}""");
        Assert.Equal(HttpStatusCode.Created, inLive.StatusCode);
        Assert.Equal(17, await CountMineAsync(db => db.Webhooks));
    }

    [Fact]
    public async Task Subscribed_endpoints_get_each_event_signed_with_the_published_key_and_byte_for_byte_as_the_api_shows_it()
    {
        await using var receiver = await Receiver.StartAsync();
        var (account, client) = await SignInAsync();
        var (_, other) = await SignInAsync(name: "Other");
        await CreateWebhookAsync(client, receiver.Url("/all"), ["*"]);
        await CreateWebhookAsync(client, receiver.Url("/locations"), ["location.create"]);
        var disabled = await CreateWebhookAsync(client, receiver.Url("/disabled"), ["*"]);
        using var disabling = await client.SendAsync(Patch($"/webhooks/{disabled}", """{"status":"disabled"}"""));
        Assert.Equal("disabled", (await ReadJsonAsync(disabling)).GetProperty("status").GetString());
        using var disabledNow = await client.GetAsync($"/webhooks/{disabled}");
        Assert.Equal("disabled", (await ReadJsonAsync(disabledNow)).GetProperty("status").GetString());
        await CreateWebhookAsync(other, receiver.Url("/other"), ["device.create"]);
        // The same account's live mode: its endpoint (https only) must get no delivery of test-mode events.
        using var live = Api.Client(await Api.LoginAsync(account.AccountId, account.LiveKey));
        var liveWebhook = await CreateWebhookAsync(live, "https://example.invalid/live", ["*"]);

        var location = await CreateLocationAsync(client);
        await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(location));
        await Wait.UntilAsync(() => receiver.To("/all").Count() >= 2 && receiver.To("/locations").Any(), Deadline, "deliveries of both events");
        await SentinelDeliveredAsync(receiver);

        Assert.Equal(2, receiver.To("/all").Count());
        Assert.Equal(["location.create"], receiver.To("/locations").Select(r => Type(r.Body)));
        Assert.Empty(receiver.To("/disabled"));
        Assert.Empty(receiver.To("/other"));
        using var liveDeliveries = await live.GetAsync($"/webhooks/{liveWebhook}/deliveries");
        Assert.Equal(0, (await ReadJsonAsync(liveDeliveries)).GetProperty("data").GetArrayLength());

        using var jwks = await Api.Client().GetAsync("/jwks.json");
        Assert.Equal(HttpStatusCode.OK, jwks.StatusCode);
        Assert.Equal("public, max-age=300", jwks.Headers.CacheControl?.ToString());
        var keys = (await ReadJsonAsync(jwks)).GetProperty("keys").EnumerateArray().ToList();
        Assert.Equal(ApiFixture.WebhookKeys.Select(k => k.KeyId), keys.Select(k => k.GetProperty("kid").GetString()));
        Assert.All(keys, k => Assert.Equal(["kty", "use", "alg", "kid", "n", "e"], k.EnumerateObject().Select(p => p.Name)));
        Assert.DoesNotContain("\"d\"", (await jwks.Content.ReadAsStringAsync()), StringComparison.Ordinal);

        foreach (var delivery in receiver.Requests.Where(r => r.Path != "/sentinel"))
        {
            Assert.Equal("application/json", delivery.Headers["Content-Type"]);
            Assert.Equal("v1", delivery.Headers["Flatpeak-Signature-Scheme"]);
            Assert.Equal("2026-08-01.busbar", delivery.Headers["Flatpeak-Version"]);
            var kid = delivery.Headers["Flatpeak-Key-ID"];
            Assert.Equal(ApiFixture.WebhookKeys[0].KeyId, kid);
            var timestamp = delivery.Headers["Flatpeak-Timestamp"];
            Assert.InRange(long.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            var signature = delivery.Headers["Flatpeak-Signature"];
            Assert.StartsWith("v1=", signature, StringComparison.Ordinal);
            var jwk = keys.Single(k => k.GetProperty("kid").GetString() == kid);
            using var rsa = RSA.Create(new RSAParameters
            {
                Modulus = Base64Url.DecodeFromChars(jwk.GetProperty("n").GetString()),
                Exponent = Base64Url.DecodeFromChars(jwk.GetProperty("e").GetString()),
            });
            byte[] signed = [.. Encoding.ASCII.GetBytes(timestamp + "."), .. delivery.Body];
            byte[] signatureBytes = Base64Url.DecodeFromChars(signature.AsSpan(3));
            Assert.True(rsa.VerifyData(signed, signatureBytes, HashAlgorithmName.SHA256, RSASignaturePadding.Pss), "the signature verifies with the published key");
            byte[] tampered = [.. signed, (byte)' '];
            Assert.False(rsa.VerifyData(tampered, signatureBytes, HashAlgorithmName.SHA256, RSASignaturePadding.Pss));

            var eventId = JsonDocument.Parse(delivery.Body).RootElement.GetProperty("id").GetString();
            using var fetched = await client.GetAsync($"/events/{eventId}");
            Assert.Equal(await fetched.Content.ReadAsByteArrayAsync(), delivery.Body);
        }
    }

    [Fact]
    public async Task A_failed_attempt_is_tried_again_on_the_schedule_and_the_delivery_records_it()
    {
        await using var receiver = await Receiver.StartAsync();
        receiver.Answers["/flaky"] = n => (n == 1 ? 500 : 200, TimeSpan.Zero);
        var (_, client) = await SignInAsync();
        var webhook = await CreateWebhookAsync(client, receiver.Url("/flaky"), ["location.create"]);

        await CreateLocationAsync(client);

        var delivery = await WaitForDeliveryAsync(client, webhook, d => d.GetProperty("status").GetString() == "succeeded");
        Assert.Equal(2, delivery.GetProperty("attempts").GetInt32());
        Assert.Equal(200, delivery.GetProperty("last_status_code").GetInt32());
        Assert.Equal(JsonValueKind.Null, delivery.GetProperty("next_attempt_at").ValueKind);
        Assert.Equal(
            ["id", "object", "webhook_id", "event_id", "status", "attempts", "last_status_code", "last_error", "next_attempt_at", "time_created"],
            delivery.EnumerateObject().Select(p => p.Name));
        Assert.Equal("webhook_delivery", delivery.GetProperty("object").GetString());
        AssertWholeSecondsAndIdTime(delivery);
        var attempts = receiver.To("/flaky").ToList();
        Assert.Equal(2, attempts.Count);
        var eventTime = JsonDocument.Parse(attempts[0].Body).RootElement.GetProperty("time_created").GetDateTimeOffset();
        Assert.True(attempts[1].At >= eventTime + ApiFixture.WebhookSchedule[1], "the second attempt waits for its turn in the schedule");
        Assert.Equal(attempts[0].Body, attempts[1].Body);
    }

    [Fact]
    public async Task A_receiver_that_never_succeeds_fails_the_delivery_after_the_last_attempt_and_a_manual_retry_sends_it_again()
    {
        await using var receiver = await Receiver.StartAsync();
        var failing = true;
        receiver.Answers["/down"] = _ => (failing ? 503 : 204, TimeSpan.Zero);
        var (_, client) = await SignInAsync();
        var webhook = await CreateWebhookAsync(client, receiver.Url("/down"), ["location.create"]);

        await CreateLocationAsync(client);

        var failed = await WaitForDeliveryAsync(client, webhook, d => d.GetProperty("status").GetString() == "failed");
        Assert.Equal(ApiFixture.WebhookSchedule.Count, failed.GetProperty("attempts").GetInt32());
        Assert.Equal(503, failed.GetProperty("last_status_code").GetInt32());
        Assert.Equal(1024, failed.GetProperty("last_error").GetString()!.Length);

        failing = false;
        var deliveryId = failed.GetProperty("id").GetString();
        using var retried = await client.PostAsync($"/webhooks/{webhook}/deliveries/{deliveryId}/retry", null);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        AssertWholeSecondsAndIdTime(await ReadJsonAsync(retried));
        var succeeded = await WaitForDeliveryAsync(client, webhook, d => d.GetProperty("status").GetString() == "succeeded");
        Assert.Equal(ApiFixture.WebhookSchedule.Count + 1, succeeded.GetProperty("attempts").GetInt32());
        Assert.Equal(204, succeeded.GetProperty("last_status_code").GetInt32());
        Assert.Equal(ApiFixture.WebhookSchedule.Count + 1, receiver.To("/down").Count());

        // Delivered: a retry is refused and sends nothing (a later sentinel delivery comes, and still nothing more to /down).
        using var again = await client.PostAsync($"/webhooks/{webhook}/deliveries/{deliveryId}/retry", null);
        await AssertErrorAsync(again, HttpStatusCode.Conflict, "api.webhook_delivery_retry", "webhook_delivery_succeeded", "id");
        await SentinelDeliveredAsync(receiver);
        Assert.Equal(ApiFixture.WebhookSchedule.Count + 1, receiver.To("/down").Count());
        using var listed = await client.GetAsync($"/webhooks/{webhook}/deliveries");
        Assert.Equal("succeeded", (await ReadJsonAsync(listed)).GetProperty("data")[0].GetProperty("status").GetString());
        using var unknown = await client.PostAsync($"/webhooks/{webhook}/deliveries/whd_000000000000000000000000/retry", null);
        await AssertErrorAsync(unknown, HttpStatusCode.NotFound, "api.webhook_delivery_retry", "webhook_delivery_not_found", "id");
    }

    [Fact]
    public async Task Racing_retries_of_a_failed_delivery_send_it_once_and_every_answer_is_a_state_it_had()
    {
        await using var receiver = await Receiver.StartAsync();
        var failing = true;
        receiver.Answers["/race"] = _ => (failing ? 503 : 204, TimeSpan.Zero);
        var (_, client) = await SignInAsync();
        var webhook = await CreateWebhookAsync(client, receiver.Url("/race"), ["location.create"]);
        await CreateLocationAsync(client);
        var delivery = (await WaitForDeliveryAsync(client, webhook, d => d.GetProperty("status").GetString() == "failed")).GetProperty("id").GetString();
        failing = false;

        var answers = await Race.RunAsync(Enumerable.Range(0, 12).Select(i => ($"{i}", HttpMethod.Post,
            Race.Send(() => client.PostAsync($"/webhooks/{webhook}/deliveries/{delivery}/retry", null)))));
        var succeeded = await WaitForDeliveryAsync(client, webhook, d => d.GetProperty("status").GetString() == "succeeded");
        await SentinelDeliveredAsync(receiver);

        // Made due again by one or more of them, then sent once; the others found it due, in flight or delivered.
        Assert.Contains(answers, a => a.Status == HttpStatusCode.OK);
        Assert.All(answers.Where(a => a.Status == HttpStatusCode.OK), a => Assert.Equal(delivery, a.Body.GetProperty("id").GetString()));
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.OK), a =>
        {
            Assert.Equal(HttpStatusCode.Conflict, a.Status);
            Assert.True(a.Body.GetProperty("code").GetString() is "webhook_delivery_in_progress" or "webhook_delivery_succeeded", a.Body.GetRawText());
        });
        Assert.Equal(ApiFixture.WebhookSchedule.Count + 1, receiver.To("/race").Count());
        Assert.Equal(ApiFixture.WebhookSchedule.Count + 1, succeeded.GetProperty("attempts").GetInt32());
        Assert.Equal(1, await CountMineAsync(db => db.WebhookDeliveries.Where(d => d.WebhookId == webhook)));
    }

    [Fact]
    public async Task A_slow_receiver_times_out_and_a_redirect_is_not_followed()
    {
        await using var receiver = await Receiver.StartAsync();
        receiver.Answers["/slow"] = n => (200, n == 1 ? TimeSpan.FromSeconds(4) : TimeSpan.Zero);
        receiver.Answers["/moved"] = _ => (302, TimeSpan.Zero);
        var (_, client) = await SignInAsync();
        var slow = await CreateWebhookAsync(client, receiver.Url("/slow"), ["location.create"]);
        var moved = await CreateWebhookAsync(client, receiver.Url("/moved"), ["location.create"]);

        await CreateLocationAsync(client);

        var timedOut = await WaitForDeliveryAsync(client, slow, d => d.GetProperty("status").GetString() == "succeeded");
        Assert.Equal(2, timedOut.GetProperty("attempts").GetInt32());
        // The first request arrived and was answered too late: an attempt that timed out, not one that never reached it.
        Assert.Equal(2, receiver.To("/slow").Count());
        var redirected = await WaitForDeliveryAsync(client, moved, d => d.GetProperty("status").GetString() == "failed");
        Assert.Equal(302, redirected.GetProperty("last_status_code").GetInt32());
        Assert.Empty(receiver.To("/redirected"));
    }

    [Fact]
    public async Task Private_destinations_are_refused_at_every_attempt_without_the_setting()
    {
        await using var receiver = await Receiver.StartAsync();
        await using var strict = await IsolatedAsync(("Webhooks:AllowPrivateNetworks", "false"));
        using var client = await strict.ClientAsync();
        // Registration refuses an address literal, so the endpoint names a host; then its URL is moved to a private
        // address in the database, as a name that resolves there would be (DNS rebinding), or a row from before the check.
        var webhook = await CreateWebhookAsync(client, "http://hooks.example.com/private", ["location.create"]);
        await using (var scope = strict.Factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Flatpeak.Devices.Api.Data.DevicesDbContext>();
            Assert.Equal(1, await db.Webhooks.Where(w => w.Id == webhook).ExecuteUpdateAsync(u => u.SetProperty(w => w.Url, receiver.Url("/private"))));
        }

        await CreateLocationAsync(client);

        var failed = await WaitForDeliveryAsync(client, webhook, d => d.GetProperty("status").GetString() == "failed");
        Assert.Equal(ApiFixture.WebhookSchedule.Count, failed.GetProperty("attempts").GetInt32());
        Assert.StartsWith("Destination refused", failed.GetProperty("last_error").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, failed.GetProperty("last_status_code").ValueKind);
        Assert.Empty(receiver.Requests);
        Assert.False(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("10.1.2.3")));
        Assert.False(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("172.16.0.1")));
        Assert.False(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("192.168.0.1")));
        Assert.False(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("169.254.169.254")));
        Assert.False(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("fd00::1")));
        Assert.False(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("fe80::1")));
        Assert.False(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.False(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("224.0.0.1")));
        Assert.False(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("64:ff9b::a00:1")));
        Assert.False(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("64:ff9b:1::5db8:d822")));
        Assert.False(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("2002:a00:1::1")));
        Assert.False(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("::10.0.0.1")));
        Assert.False(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("198.18.0.1")));
        Assert.False(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("0.0.0.0")));
        Assert.False(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.IPv6Any));
        Assert.True(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("64:ff9b::5db8:d822")));
        Assert.True(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("93.184.216.34")));
        Assert.True(Flatpeak.Devices.Api.Webhooks.WebhookDestinations.IsPublic(IPAddress.Parse("2606:2800:220:1::1")));
    }

    [Fact]
    public async Task A_slow_endpoint_gets_at_most_its_share_of_attempts_at_once_and_does_not_hold_up_another()
    {
        await using var slow = await Receiver.StartAsync();
        await using var fast = await Receiver.StartAsync();
        slow.Answers["/slow"] = _ => (200, TimeSpan.FromMilliseconds(700));
        await using var instance = await IsolatedAsync(("Webhooks:MaxConcurrentAttemptsPerEndpoint", "2"));
        using var client = await instance.ClientAsync();
        await CreateWebhookAsync(client, slow.Url("/slow"), ["location.create"]);
        await CreateWebhookAsync(client, fast.Url("/fast"), ["location.create"]);

        for (var i = 0; i < 8; i++)
        {
            await CreateLocationAsync(client);
        }

        await Wait.UntilAsync(() => fast.To("/fast").Count() == 8, Deadline, "the fast endpoint's deliveries");
        Assert.True(slow.To("/slow").Count() < 8, "the fast endpoint did not wait for the slow one");
        await Wait.UntilAsync(() => slow.To("/slow").Count() == 8, Deadline, "the slow endpoint's deliveries");
        Assert.Equal(2, slow.MaxInFlight);
    }

    [Fact]
    public async Task A_backlog_beyond_what_an_instance_holds_is_read_in_turns_and_each_event_is_delivered_once_within_the_limits()
    {
        await using var receiver = await Receiver.StartAsync();
        receiver.Answers["/backlog"] = _ => (200, TimeSpan.FromMilliseconds(10));
        // It holds at most 4 × Ahead attempts, 2 × Ahead for one endpoint, and never polls: 200 events are read in many
        // turns, and a claim that finds the endpoint at its limit here does not end the claiming.
        await using var instance = await IsolatedAsync(
            ("Webhooks:MaxConcurrentAttempts", "4"), ("Webhooks:MaxConcurrentAttemptsPerEndpoint", "2"), ("Webhooks:PollSeconds", "3600"));
        using var client = await instance.ClientAsync();
        var webhook = await CreateWebhookAsync(client, receiver.Url("/backlog"), ["location.create"]);

        string[] locations;
        await using (var holder = new NpgsqlConnection(Api.Postgres.ConnectionString))
        {
            // A transaction with an id holds the feed back (as a stuck one would), so the events pile up unread.
            await holder.OpenAsync();
            await using var transaction = await holder.BeginTransactionAsync();
            await using (var assign = new NpgsqlCommand("SELECT pg_current_xact_id()", holder, transaction))
            {
                await assign.ExecuteScalarAsync();
            }

            locations = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => CreateLocationAsync(client)));
            await transaction.RollbackAsync();
        }

        await Wait.UntilAsync(() => receiver.To("/backlog").Count() >= locations.Length, Deadline, "the backlog's deliveries");
        await using var scope = instance.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Flatpeak.Devices.Api.Data.DevicesDbContext>();
        await Wait.UntilAsync(
            async () => await db.WebhookDeliveries.CountAsync(d => d.WebhookId == webhook && d.Status == "succeeded") == locations.Length,
            Deadline, "the backlog's outcomes recorded");
        var deliveries = await db.WebhookDeliveries.AsNoTracking().Where(d => d.WebhookId == webhook).ToListAsync();
        Assert.Equal(locations.Length, deliveries.Count);
        Assert.All(deliveries, d => Assert.Equal(1, d.Attempts));
        Assert.Equal(locations.Order(), receiver.To("/backlog").Select(r => r.ObjectId).Order());
        Assert.Equal(2, receiver.MaxInFlight);
    }

    [Fact]
    public async Task A_claim_given_back_unsent_makes_the_delivery_due_again_uncounted_and_a_stale_one_changes_nothing()
    {
        var (account, client) = await SignInAsync();
        // A disabled endpoint: no dispatch or claim of the engine touches its deliveries while the test holds them.
        var webhook = await CreateWebhookAsync(client, "https://example.com/given-back", ["location.create"], status: "disabled");
        await CreateLocationAsync(client);
        await CreateLocationAsync(client);
        await using var scope = Api.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Flatpeak.Devices.Api.Data.DevicesDbContext>();
        var events = await db.Events.AsNoTracking().Where(e => e.AccountId == account.AccountId && e.Type == "location.create").OrderBy(e => e.Id).ToListAsync();
        var now = DateTimeOffset.UtcNow;
        db.WebhookDeliveries.AddRange(
            Delivery("whd_given_back_1", events[0], attempts: 1, firstAttemptAt: now),
            Delivery("whd_given_back_2", events[1], attempts: 3, firstAttemptAt: now.AddHours(-1)));
        await db.SaveChangesAsync();

        // The first is given back by the claim that holds it; the second by a claim older than the one that holds it.
        await Flatpeak.Devices.Api.Webhooks.WebhookDeliveryStatements.ReleaseAsync(
            db, [Claimed("whd_given_back_1", events[0], 1), Claimed("whd_given_back_2", events[1], 2)], CancellationToken.None);

        var stored = await db.WebhookDeliveries.AsNoTracking().Where(d => d.WebhookId == webhook).OrderBy(d => d.Id).ToListAsync();
        Assert.Equal(["whd_given_back_1", "whd_given_back_2"], stored.Select(d => d.Id));
        Assert.Equal((0, null, null), (stored[0].Attempts, stored[0].LockedUntil, stored[0].FirstAttemptAt));
        Assert.Equal(3, stored[1].Attempts);
        Assert.NotNull(stored[1].LockedUntil);
        Assert.NotNull(stored[1].FirstAttemptAt);

        Flatpeak.Devices.Api.Webhooks.WebhookDelivery Delivery(string id, Flatpeak.Devices.Api.Events.ApiEvent @event, int attempts, DateTimeOffset firstAttemptAt) => new()
        {
            Id = id,
            AccountId = account.AccountId,
            LiveMode = false,
            WebhookId = webhook,
            EventId = @event.Id,
            Status = "pending",
            Attempts = attempts,
            NextAttemptAt = now,
            LockedUntil = now.AddMinutes(1),
            FirstAttemptAt = firstAttemptAt,
            TimeCreated = now,
        };

        Flatpeak.Devices.Api.Webhooks.ClaimedAttempt Claimed(string id, Flatpeak.Devices.Api.Events.ApiEvent @event, int attempts) =>
            new(account.AccountId, false, id, webhook, attempts, "https://example.com/given-back", @event);
    }

    [Fact]
    public async Task After_a_key_rotation_deliveries_are_signed_with_the_new_key_and_the_old_one_stays_published()
    {
        await using var receiver = await Receiver.StartAsync();
        await using var rotated = await IsolatedAsync(("Webhooks:ActiveSigningKey", ApiFixture.WebhookKeys[1].KeyId));
        using var client = await rotated.ClientAsync();
        await CreateWebhookAsync(client, receiver.Url("/rotated"), ["*"]);

        await CreateLocationAsync(client);

        await Wait.UntilAsync(() => receiver.To("/rotated").Any(), Deadline, "a delivery");
        var delivery = receiver.To("/rotated").First();
        Assert.Equal(ApiFixture.WebhookKeys[1].KeyId, delivery.Headers["Flatpeak-Key-ID"]);
        using var jwks = await ApiFixture.Client(rotated.Factory).GetAsync("/jwks.json");
        var keys = (await ReadJsonAsync(jwks)).GetProperty("keys").EnumerateArray().ToList();
        Assert.Equal(ApiFixture.WebhookKeys.Select(k => k.KeyId), keys.Select(k => k.GetProperty("kid").GetString()));
        var jwk = keys[1];
        using var rsa = RSA.Create(new RSAParameters
        {
            Modulus = Base64Url.DecodeFromChars(jwk.GetProperty("n").GetString()),
            Exponent = Base64Url.DecodeFromChars(jwk.GetProperty("e").GetString()),
        });
        byte[] signed = [.. Encoding.ASCII.GetBytes(delivery.Headers["Flatpeak-Timestamp"] + "."), .. delivery.Body];
        Assert.True(rsa.VerifyData(signed, Base64Url.DecodeFromChars(delivery.Headers["Flatpeak-Signature"].AsSpan(3)), HashAlgorithmName.SHA256, RSASignaturePadding.Pss));
    }

    [Fact]
    public async Task Attempts_and_delivery_lag_are_measured()
    {
        await using var receiver = await Receiver.StartAsync();
        var measured = new System.Collections.Concurrent.ConcurrentBag<(string Instrument, object? Outcome)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        // This host's meters only: other hosts in the process (other collections' services) deliver webhooks too.
        var meters = Api.Factory.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == Flatpeak.Devices.Api.Webhooks.WebhookMetrics.MeterName && instrument.Meter.Scope == meters)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) =>
            measured.Add((instrument.Name, tags.ToArray().FirstOrDefault(t => t.Key == "outcome").Value)));
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => measured.Add((instrument.Name, value >= 0)));
        listener.Start();
        receiver.Answers["/measured"] = n => (n == 1 ? 500 : 200, TimeSpan.Zero);
        var (_, client) = await SignInAsync();
        var webhook = await CreateWebhookAsync(client, receiver.Url("/measured"), ["location.create"]);

        await CreateLocationAsync(client);

        await WaitForDeliveryAsync(client, webhook, d => d.GetProperty("status").GetString() == "succeeded");
        await Wait.UntilAsync(() => measured.Count(m => m.Instrument == "webhook.attempts") >= 2, Deadline, "two attempts measured");
        Assert.Contains(("webhook.attempts", (object?)"rejected"), measured);
        Assert.Contains(("webhook.attempts", (object?)"succeeded"), measured);
        Assert.Contains(("webhook.delivery.lag", (object?)true), measured);
    }

    /// <summary>A delivery's times are whole seconds in UTC, like every time served, and its id carries the second it was created.</summary>
    private static void AssertWholeSecondsAndIdTime(JsonElement delivery)
    {
        foreach (var field in new[] { "time_created", "next_attempt_at" })
        {
            if (delivery.GetProperty(field).ValueKind == JsonValueKind.String)
            {
                var time = delivery.GetProperty(field).GetDateTimeOffset();
                Assert.Equal(TimeSpan.Zero, time.Offset);
                Assert.Equal(0, time.Ticks % TimeSpan.TicksPerSecond);
            }
        }

        var idSeconds = Convert.ToInt64(delivery.GetProperty("id").GetString()!.Substring("whd_".Length, 8), 16);
        Assert.Equal(delivery.GetProperty("time_created").GetDateTimeOffset().ToUnixTimeSeconds(), idSeconds);
    }

    /// <summary>
    /// A barrier instead of a sleep before asserting that something was not delivered: another account's endpoint gets
    /// an event written after everything before this call. Dispatch reads every account's feed in one statement, and
    /// the round that read this event saw all earlier ones settled, so whatever they would have caused is done.
    /// </summary>
    private async Task SentinelDeliveredAsync(Receiver receiver)
    {
        var (_, sentinel) = await SignInAsync(name: "Sentinel");
        await CreateWebhookAsync(sentinel, receiver.Url("/sentinel"), ["location.create"]);
        var location = await CreateLocationAsync(sentinel);
        await Wait.UntilAsync(() => receiver.To("/sentinel").Any(r => r.ObjectId == location), Deadline, "the sentinel's delivery");
    }

    /// <summary>A service of its own on a database of its own (so that only it delivers there), with these settings.</summary>
    private async Task<Isolated> IsolatedAsync(params (string Key, string Value)[] settings)
    {
        var database = await Api.NewDatabaseAsync("webhooks");
        var factory = Api.Factory.WithWebHostBuilder(web =>
        {
            web.UseSetting("ConnectionStrings:Postgres", database);
            foreach (var (key, value) in settings)
            {
                web.UseSetting(key, value);
            }
        });
        ApiFixture.Client(factory).Dispose();
        return new Isolated(factory);
    }

    private sealed class Isolated(Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> factory) : IAsyncDisposable
    {
        public Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> Factory => factory;

        /// <summary>A client logged in to a new account of this instance's database.</summary>
        public async Task<HttpClient> ClientAsync()
        {
            var account = await ApiFixture.CreateAccountAsync(factory.Services, "Isolated");
            using var anonymous = ApiFixture.Client(factory);
            return ApiFixture.Client(factory, await ApiFixture.LoginAsync(anonymous, account.AccountId, account.TestKey));
        }

        public ValueTask DisposeAsync() => factory.DisposeAsync();
    }

    private static string Type(byte[] body) => JsonDocument.Parse(body).RootElement.GetProperty("type").GetString()!;

    private static async Task<JsonElement> WaitForDeliveryAsync(HttpClient client, string webhook, Func<JsonElement, bool> done)
    {
        JsonElement found = default;
        await Wait.UntilAsync(async () =>
        {
            using var response = await client.GetAsync($"/webhooks/{webhook}/deliveries");
            var data = (await ReadJsonAsync(response)).GetProperty("data");
            if (data.GetArrayLength() == 1 && done(data[0]))
            {
                found = data[0];
                return true;
            }

            return false;
        }, Deadline, $"the delivery of {webhook}");
        return found;
    }
}
