using System.Net;
using System.Text;
using System.Text.Json;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Flatpeak.Devices.Tests.Concurrency;

/// <summary>
/// Device creates share statements (natural batching): batches really form, and inside one each request keeps its
/// own outcome, event and Idempotency-Key, as when it is sent alone. Batches are made to form on demand by
/// <see cref="HeldWriters"/>, so none of this depends on timing.
/// </summary>
public sealed class BatchedCreateTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task Creates_queued_behind_busy_writers_go_out_in_few_statements_each_stored_once_with_its_event()
    {
        var (_, client) = await SignInAsync();
        var held = await CreateLocationAsync(client);
        var elsewhere = await CreateLocationAsync(client);
        await using var writers = await HeldWriters.HoldAsync(Api.Factory, Api.Postgres.ConnectionString, held, () => PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(held)));
        const int Queued = 60;
        var queued = Enumerable.Range(0, Queued).Select(_ => PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(elsewhere))).ToList();
        await writers.QueuedAsync(Queued);

        await writers.ReleaseAsync();
        var answers = await Task.WhenAll(writers.Holders.Concat(queued));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Created, a.StatusCode));
        var ids = new List<string>();
        foreach (var answer in answers)
        {
            ids.Add((await ReadJsonAsync(answer)).GetProperty("id").GetString()!);
        }

        Assert.Equal(answers.Length, ids.Distinct().Count());
        await AssertStoredOnceWithOneEventAsync(ids);
        // Each held writer's statement carried one create; the queue went out in at most one more statement per writer.
        var statements = writers.Statements;
        Assert.All(statements, s => Assert.True(s.Succeeded));
        Assert.Equal(answers.Length, statements.Sum(s => s.Writes));
        Assert.InRange(statements.Count, writers.Writers + 1, 2 * writers.Writers);
        Assert.Contains(statements, s => s.Writes >= Queued / writers.Writers);
    }

    [Fact]
    public async Task In_one_batch_every_request_answers_as_alone_a_missing_location_another_account_the_other_mode_and_idempotency_keys()
    {
        var (account, client) = await SignInAsync();
        using var live = Api.Client(await Api.LoginAsync(account.AccountId, account.LiveKey));
        var (_, other) = await SignInAsync();
        var held = await CreateLocationAsync(client);
        var first = await CreateLocationAsync(client);
        var second = await CreateLocationAsync(client);
        var othersLocation = await CreateLocationAsync(other);
        await using var writers = await HeldWriters.HoldAsync(Api.Factory, Api.Postgres.ConnectionString, held, () => PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(held)));
        var run = Guid.NewGuid().ToString("N");

        var sent = new List<(string Case, Task<HttpResponseMessage> Answer)>();
        void Send(string @case, int times, HttpClient from, string body, string? key = null)
        {
            for (var i = 0; i < times; i++)
            {
                sent.Add((@case, PostJsonAsync(from, "/devices", body, key is null ? null : $"{key}-{i}")));
            }
        }

        Send("valid", 6, client, CreateDeviceTests.SeedBody(first, second));
        Send("second location is the other account's", 3, client, CreateDeviceTests.SeedBody(first, othersLocation));
        Send("live mode, test-mode location", 3, live, CreateDeviceTests.SeedBody(first));
        Send("other account, its own location", 3, other, CreateDeviceTests.SeedBody(othersLocation));
        Send("other account, this account's location", 3, other, CreateDeviceTests.SeedBody(first));
        Send("keyed", 3, client, CreateDeviceTests.SeedBody(second), $"keyed-{run}");
        Send("keyed, missing location", 2, client, CreateDeviceTests.SeedBody("loc_000000000000000000000000"), $"missing-{run}");
        // One key, four requests at once: one runs (and queues); the others are told it is running, or replay it if it has finished.
        var duplicate = $"duplicate-{run}";
        for (var i = 0; i < 4; i++)
        {
            sent.Add(("duplicate key", PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(first), duplicate)));
        }

        await writers.QueuedAsync(sent.Count - 3);
        await writers.ReleaseAsync();
        await Task.WhenAll(sent.Select(s => s.Answer).Concat(writers.Holders));

        var created = new List<string>();
        async Task<List<HttpResponseMessage>> Answers(string @case) => [.. await Task.WhenAll(sent.Where(s => s.Case == @case).Select(s => s.Answer))];
        async Task<List<string>> Created(string @case)
        {
            var ids = new List<string>();
            foreach (var answer in await Answers(@case))
            {
                Assert.Equal(HttpStatusCode.Created, answer.StatusCode);
                var device = await ReadJsonAsync(answer);
                Assert.False(device.GetProperty("live_mode").GetBoolean());
                ids.Add(device.GetProperty("id").GetString()!);
            }

            created.AddRange(ids);
            return ids;
        }

        async Task NotFound(string @case, string param, bool liveMode = false)
        {
            foreach (var answer in await Answers(@case))
            {
                await AssertErrorAsync(answer, HttpStatusCode.BadRequest, "api.device_create", "location_not_found", param, liveMode);
            }
        }

        await Created("valid");
        await NotFound("second location is the other account's", "locations[1]");
        await NotFound("live mode, test-mode location", "locations[0]", liveMode: true);
        await Created("other account, its own location");
        await NotFound("other account, this account's location", "locations[0]");
        var keyed = await Created("keyed");
        await NotFound("keyed, missing location", "locations[0]");
        var duplicates = await Answers("duplicate key");
        var runner = Assert.Single(duplicates, a => a.StatusCode == HttpStatusCode.Created && !a.Headers.Contains("Idempotent-Replayed"));
        var duplicateId = (await ReadJsonAsync(runner)).GetProperty("id").GetString()!;
        foreach (var rest in duplicates.Where(a => a != runner))
        {
            if (rest.StatusCode == HttpStatusCode.Conflict)
            {
                await AssertErrorAsync(rest, HttpStatusCode.Conflict, "api.device_create", "idempotency_key_in_use", "Idempotency-Key");
            }
            else
            {
                Assert.Equal(HttpStatusCode.Created, rest.StatusCode);
                Assert.Equal(duplicateId, (await ReadJsonAsync(rest)).GetProperty("id").GetString());
            }
        }

        created.Add(duplicateId);
        foreach (var holder in writers.Holders)
        {
            created.Add((await ReadJsonAsync(await holder)).GetProperty("id").GetString()!);
        }

        await AssertStoredOnceWithOneEventAsync(created);
        // Every key replays what its request was answered, the duplicate key the one device it made.
        for (var i = 0; i < keyed.Count; i++)
        {
            using var replay = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(second), $"keyed-{run}-{i}");
            Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
            Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
            Assert.Equal(keyed[i], (await ReadJsonAsync(replay)).GetProperty("id").GetString());
        }

        using (var replay = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody("loc_000000000000000000000000"), $"missing-{run}-0"))
        {
            Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
            await AssertErrorAsync(replay, HttpStatusCode.BadRequest, "api.device_create", "location_not_found", "locations[0]");
        }

        using (var replay = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(first), duplicate))
        {
            Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
            Assert.Equal(duplicateId, (await ReadJsonAsync(replay)).GetProperty("id").GetString());
        }
    }

    [Fact]
    public async Task A_create_whose_client_has_gone_while_it_was_queued_is_never_sent()
    {
        var (_, client) = await SignInAsync();
        var held = await CreateLocationAsync(client);
        var elsewhere = await CreateLocationAsync(client);
        await using var writers = await HeldWriters.HoldAsync(Api.Factory, Api.Postgres.ConnectionString, held, () => PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(held)));
        using var gone = new CancellationTokenSource();
        var queued = Enumerable.Range(0, 10)
            .Select(_ => client.PostAsync("/devices", new StringContent(CreateDeviceTests.SeedBody(elsewhere), Encoding.UTF8, "application/json"), gone.Token))
            .ToList();
        await writers.QueuedAsync(queued.Count);

        // The test server aborts each request as its client cancels, before Cancel returns.
        await gone.CancelAsync();
        await writers.ReleaseAsync();

        foreach (var request in queued)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        }

        var created = new List<string>();
        foreach (var answer in await Task.WhenAll(writers.Holders))
        {
            Assert.Equal(HttpStatusCode.Created, answer.StatusCode);
            created.Add((await ReadJsonAsync(answer)).GetProperty("id").GetString()!);
        }

        await Wait.UntilAsync(() => writers.Batcher.Queued == 0, TimeSpan.FromSeconds(30), "the cancelled creates taken off the queue");
        await AssertStoredOnceWithOneEventAsync(created);
        // Only the held writers' statements were sent: the cancelled creates were dropped from the queue.
        Assert.Equal(Enumerable.Repeat((1, true), writers.Writers), writers.Statements);
    }

    [Fact]
    public async Task A_shared_statement_is_cancelled_when_one_of_its_requests_goes_and_the_others_are_written_alone()
    {
        var (_, client) = await SignInAsync();
        var held = await CreateLocationAsync(client);
        var holdersGone = new List<CancellationTokenSource>();
        Task<HttpResponseMessage> Create(CancellationTokenSource gone) =>
            client.PostAsync("/devices", new StringContent(CreateDeviceTests.SeedBody(held), Encoding.UTF8, "application/json"), gone.Token);
        await using var writers = await HeldWriters.HoldAsync(Api.Factory, Api.Postgres.ConnectionString, held, () =>
        {
            holdersGone.Add(new CancellationTokenSource());
            return Create(holdersGone[^1]);
        });
        using var leaver = new CancellationTokenSource();
        using var stays = new CancellationTokenSource();
        var leaving = Create(leaver);
        await writers.QueuedAsync(1);
        var staying = Enumerable.Range(0, 4).Select(_ => Create(stays)).ToList();
        await writers.QueuedAsync(5);

        // One writer let go: it takes the five queued creates into one statement, which waits on the lock too.
        await holdersGone[0].CancelAsync();
        await Wait.UntilAsync(() => writers.Batcher.Queued == 0, TimeSpan.FromSeconds(30), "the queued creates taken by the freed writer");
        await writers.WaitingAsync(writers.Writers);
        await leaver.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaving);
        await writers.ReleaseAsync();

        var created = new List<string>();
        foreach (var answer in await Task.WhenAll(staying.Concat(writers.Holders.Skip(1))))
        {
            Assert.Equal(HttpStatusCode.Created, answer.StatusCode);
            created.Add((await ReadJsonAsync(answer)).GetProperty("id").GetString()!);
        }

        await AssertStoredOnceWithOneEventAsync(created);
        // The statement of five was cancelled with its one request gone, and its four others were sent alone.
        Assert.Contains((5, false), writers.Statements);
        Assert.Equal(4, writers.Statements.Count(s => s == (1, true)) - (writers.Writers - 1));
        holdersGone.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task A_batch_whose_statement_fails_writes_nothing_half_and_each_request_gets_its_own_retry_or_failure()
    {
        var (_, client) = await SignInAsync();
        var held = await CreateLocationAsync(client);
        var elsewhere = await CreateLocationAsync(client);
        // A create the database refuses (a trigger standing in for a constraint nobody expected), named by its reference id.
        var poison = $"POISON{Guid.NewGuid():N}";
        var trigger = $"refuse_{poison.ToLowerInvariant()}";
        await Sql.ExecuteAsync(Api.Postgres.ConnectionString, $"""
            CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.reference_id = '{poison}' THEN RAISE EXCEPTION 'refused by the test'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER {trigger} BEFORE INSERT ON devices FOR EACH ROW EXECUTE FUNCTION {trigger}();
            """);
        try
        {
            await using var writers = await HeldWriters.HoldAsync(Api.Factory, Api.Postgres.ConnectionString, held, () => PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(held)));
            var valid = Enumerable.Range(0, 10).Select(_ => PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(elsewhere))).ToList();
            var poisoned = PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(elsewhere).Replace("DEV1234567890", poison, StringComparison.Ordinal));
            await writers.QueuedAsync(valid.Count + 1);
            await writers.ReleaseAsync();

            var created = new List<string>();
            foreach (var answer in await Task.WhenAll(valid.Concat(writers.Holders)))
            {
                Assert.Equal(HttpStatusCode.Created, answer.StatusCode);
                created.Add((await ReadJsonAsync(answer)).GetProperty("id").GetString()!);
            }

            await AssertErrorAsync(await poisoned, HttpStatusCode.InternalServerError, "api.device_create", "internal_error");
            await AssertStoredOnceWithOneEventAsync(created);
            // The shared statement failed as a whole, then each create was written alone.
            Assert.Contains(writers.Statements, s => s is { Succeeded: false, Writes: > 1 });
        }
        finally
        {
            await Sql.ExecuteAsync(Api.Postgres.ConnectionString, $"DROP TRIGGER {trigger} ON devices; DROP FUNCTION {trigger}();");
        }
    }

    /// <summary>Exactly these devices are stored in this test's accounts, each with its locations indexed and one create event showing it.</summary>
    private async Task AssertStoredOnceWithOneEventAsync(IReadOnlyCollection<string> ids)
    {
        await using var scope = Api.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DevicesDbContext>();
        var stored = await Mine(db.Devices).Select(d => d.Id).ToListAsync();
        Assert.Equal(ids.Order(StringComparer.Ordinal), stored.Order(StringComparer.Ordinal));
        var events = await Mine(db.Events).Where(e => e.Type == "device.create").ToListAsync();
        Assert.Equal(ids.Order(StringComparer.Ordinal), events.Select(e => e.ObjectId).Order(StringComparer.Ordinal));
        Assert.All(events, e => Assert.Equal(e.ObjectId, JsonDocument.Parse(e.Data).RootElement.GetProperty("id").GetString()));
        await AssertDeviceLocationsMatchDevicesAsync();
    }
}
