using System.Net;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Flatpeak.Devices.Tests.Hostile;

public sealed class RateLimitingTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task Past_the_bucket_an_account_and_mode_gets_429_rate_limit_with_retry_after_and_others_are_unaffected()
    {
        await using var limited = Api.Factory.WithWebHostBuilder(web =>
        {
            web.UseSetting("RateLimiting:TokenLimit", "3");
            web.UseSetting("RateLimiting:TokensPerPeriod", "1");
            web.UseSetting("RateLimiting:PeriodSeconds", "600");
        });
        var acme = await CreateAccountAsync("Acme");
        var globex = await CreateAccountAsync("Globex");
        using var acmeTest = ApiFixture.Client(limited, await Api.LoginAsync(acme.AccountId, acme.TestKey));
        using var acmeLive = ApiFixture.Client(limited, await Api.LoginAsync(acme.AccountId, acme.LiveKey));
        using var globexTest = ApiFixture.Client(limited, await Api.LoginAsync(globex.AccountId, globex.TestKey));

        for (var i = 0; i < 3; i++)
        {
            using var allowed = await acmeTest.GetAsync("/devices");
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }

        using var refused = await PostJsonAsync(acmeTest, "/locations", "{}");
        await AssertErrorAsync(refused, HttpStatusCode.TooManyRequests, "api.location_create", "rate_limited");
        Assert.InRange(refused.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 1, 600);
        using var otherMode = await acmeLive.GetAsync("/devices");
        Assert.Equal(HttpStatusCode.OK, otherMode.StatusCode);
        using var otherAccount = await globexTest.GetAsync("/devices");
        Assert.Equal(HttpStatusCode.OK, otherAccount.StatusCode);
        await AssertNoLocationsAsync();
    }


    private async Task AssertNoLocationsAsync() => Assert.Equal(0, await CountMineAsync(db => db.Locations));
}
