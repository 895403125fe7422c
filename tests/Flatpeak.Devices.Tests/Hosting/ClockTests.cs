using System.Globalization;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Flatpeak.Devices.Tests.Hosting;

/// <summary>
/// The clock the suite runs at is the one the service and PostgreSQL read: today's, or the instant tests/at-dates.sh
/// moved every process to (it says which in FLATPEAK_TEST_CLOCK), so that a run "at" another date really is one.
/// </summary>
public sealed class ClockTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task The_service_and_the_database_read_the_clock_the_run_was_given()
    {
        var given = Environment.GetEnvironmentVariable("FLATPEAK_TEST_CLOCK") is { Length: > 0 } set
            ? DateTimeOffset.Parse(set, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)
            : DateTimeOffset.UtcNow;
        // A run takes minutes from the instant it was given.
        var (earliest, latest) = (given.AddMinutes(-1), given.AddMinutes(30));
        var (_, client) = await SignInAsync();

        using var created = await PostJsonAsync(client, "/locations", "{}");
        await using var scope = Api.Factory.Services.CreateAsyncScope();
        var database = await scope.ServiceProvider.GetRequiredService<Flatpeak.Devices.Api.Data.DevicesDbContext>().Database
            .SqlQueryRaw<DateTimeOffset>("SELECT now() AS \"Value\"").SingleAsync();

        Assert.InRange((await ReadJsonAsync(created)).GetProperty("time_created").GetDateTimeOffset(), earliest, latest);
        Assert.InRange(database, earliest, latest);
        Assert.InRange(DateTimeOffset.UtcNow, earliest, latest);
    }
}
