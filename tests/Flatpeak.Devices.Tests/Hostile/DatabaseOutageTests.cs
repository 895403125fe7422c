using System.Collections.Concurrent;
using System.Net;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Flatpeak.Devices.Tests.Hostile;

/// <summary>PostgreSQL goes away and comes back: 503 with Retry-After meanwhile, nothing half-stored, recovery by itself.</summary>
[Collection(DatabaseFaultsGroup.Name)]
public sealed class DatabaseOutageTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task With_the_database_down_requests_get_503_with_retry_after_and_the_service_recovers_by_itself()
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);

        await Api.Postgres.StopAsync();
        try
        {
            using var create = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(location));
            var error = await AssertErrorAsync(create, HttpStatusCode.ServiceUnavailable, "api.device_create", "database_unavailable");
            Assert.Equal(TimeSpan.FromSeconds(2), create.Headers.RetryAfter?.Delta);
            Assert.DoesNotContain("Npgsql", error.GetProperty("message").GetString(), StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("127.0.0.1", error.GetProperty("message").GetString(), StringComparison.Ordinal);

            using var get = await client.GetAsync($"/locations/{location}");
            await AssertErrorAsync(get, HttpStatusCode.ServiceUnavailable, "api.location_get", "database_unavailable");

            using var ready = await client.GetAsync("/readyz");
            await AssertErrorAsync(ready, HttpStatusCode.ServiceUnavailable, "api.health_ready", "database_unavailable");
            using var live = await client.GetAsync("/healthz");
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }
        finally
        {
            await Api.Postgres.StartAgainAsync();
        }

        using var readyAgain = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, readyAgain.StatusCode);
        using var created = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(location));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    [Fact]
    public async Task Stopping_the_database_in_a_stream_of_creates_leaves_every_201_stored_and_every_503_unstored()
    {
        var (_, client) = await SignInAsync();
        var location = await CreateLocationAsync(client);
        var answers = new ConcurrentDictionary<string, HttpStatusCode>();
        var sent = 0;
        var created = 0;

        async Task Stream(CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                var reference = $"R{Interlocked.Increment(ref sent)}";
                using var response = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(location).Replace("DEV1234567890", reference, StringComparison.Ordinal));
                answers[reference] = response.StatusCode;
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    Interlocked.Increment(ref created);
                }
            }
        }

        using var stopStreams = new CancellationTokenSource();
        var streams = Enumerable.Range(0, 4).Select(_ => Task.Run(() => Stream(stopStreams.Token))).ToList();
        await Wait.UntilAsync(() => Volatile.Read(ref created) >= 40, TimeSpan.FromSeconds(60), "40 devices created before the outage");

        await Api.Postgres.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(2));
        await Api.Postgres.StartAgainAsync();
        var createdBeforeRecovery = Volatile.Read(ref created);
        await Wait.UntilAsync(() => Volatile.Read(ref created) >= createdBeforeRecovery + 40, TimeSpan.FromSeconds(60), "40 devices created after the database came back");

        await stopStreams.CancelAsync();
        await Task.WhenAll(streams);

        await using var scope = Api.Factory.Services.CreateAsyncScope();
        var stored = (await Mine(scope.ServiceProvider.GetRequiredService<DevicesDbContext>().Devices)
            .GroupBy(d => d.ReferenceId).Select(g => new { g.Key, Count = g.Count() }).ToListAsync())
            .ToDictionary(g => g.Key, g => g.Count);
        Assert.Contains(answers.Values, status => status == HttpStatusCode.ServiceUnavailable);
        foreach (var (reference, status) in answers)
        {
            switch (status)
            {
                case HttpStatusCode.Created:
                    Assert.Equal(1, stored.GetValueOrDefault(reference));
                    break;
                case HttpStatusCode.ServiceUnavailable:
                    Assert.False(stored.ContainsKey(reference), $"{reference} was answered 503 but stored");
                    break;
                default:
                    Assert.Fail($"{reference} was answered {(int)status}");
                    break;
            }
        }
    }
}
