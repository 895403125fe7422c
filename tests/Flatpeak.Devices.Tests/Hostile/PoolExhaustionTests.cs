using System.Net;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Flatpeak.Devices.Tests.Hostile;

[Collection(DatabaseFaultsGroup.Name)]
public sealed class PoolExhaustionTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task When_every_pooled_connection_is_busy_a_request_gets_503_instead_of_waiting_forever()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(Api.Postgres.ConnectionString) { MaxPoolSize = 1, Timeout = 1 }.ConnectionString;
        await using var small = Api.Factory.WithWebHostBuilder(web => web.UseSetting("ConnectionStrings:Postgres", connectionString));
        var account = await CreateAccountAsync();
        using var client = ApiFixture.Client(small, await Api.LoginAsync(account.AccountId, account.TestKey));

        // Take the instance's only pooled connection and keep it.
        await using var scope = small.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DevicesDbContext>();
        await db.Database.OpenConnectionAsync();
        try
        {
            using var response = await client.GetAsync("/devices");

            await AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "api.device_list", "database_unavailable");
            Assert.NotNull(response.Headers.RetryAfter);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }

        using var after = await client.GetAsync("/devices");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }
}
