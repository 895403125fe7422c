using System.Net;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;

namespace Flatpeak.Devices.Tests.Versions;

/// <summary>Flatpeak-Version: the one version served is named on every response; its alias is taken; any other asked for is refused.</summary>
public sealed class ApiVersionTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Theory]
    [InlineData(null)]
    [InlineData("2026-08-01.busbar")]
    [InlineData("2024-08-24")]
    public async Task Every_response_names_the_version_served_and_asking_for_it_or_its_alias_works(string? version)
    {
        var (_, client) = await SignInAsync();
        using var anonymous = Api.Client();
        using var asked = new HttpRequestMessage(HttpMethod.Post, "/locations") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
        if (version is not null)
        {
            asked.Headers.Add("Flatpeak-Version", version);
        }

        using var created = await client.SendAsync(asked);
        using var notFound = await client.GetAsync("/devices/dev_000000000000000000000000");
        using var unauthorized = await anonymous.GetAsync("/devices");
        using var health = await anonymous.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        foreach (var response in new[] { created, notFound, unauthorized, health })
        {
            Assert.Equal("2026-08-01.busbar", Assert.Single(response.Headers.GetValues("Flatpeak-Version")));
        }

        // The event records the version served, whichever name the request used.
        Assert.Equal(["2026-08-01.busbar"], (await StoredEventsAsync()).Select(e => e.ApiVersion));
    }

    [Theory]
    [InlineData("2023-01-01")]
    [InlineData("2024-08-25")]
    [InlineData("latest")]
    [InlineData("2026-08-01")]
    [InlineData("2026-08-01.BUSBAR")]
    [InlineData("2024-8-24")]
    public async Task Any_other_version_is_422_api_version_not_supported_in_the_api_context_and_changes_nothing(string version)
    {
        var (_, client) = await SignInAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/devices") { Content = new StringContent(CreateDeviceTests.SeedBody(await CreateLocationAsync(client)), System.Text.Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Flatpeak-Version", version);

        using var response = await client.SendAsync(request);

        await AssertErrorAsync(response, HttpStatusCode.UnprocessableEntity, "api", "api_version_not_supported", "Flatpeak-Version");
        Assert.Equal("2026-08-01.busbar", Assert.Single(response.Headers.GetValues("Flatpeak-Version")));
        await AssertNoDevicesAsync();
    }
}
