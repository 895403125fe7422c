using Flatpeak.Devices.Api.Webhooks;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Flatpeak.Devices.Tests.Webhooks;

/// <summary>
/// Committed events wake the delivery at once, in the instance that wrote them and, through PostgreSQL
/// LISTEN/NOTIFY, in every other: with the poll an hour apart, only a wake-up can deliver within the test's deadline.
/// </summary>
public sealed class WakeUpTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Events_written_by_one_instance_are_delivered_by_another_that_polls_once_an_hour()
    {
        var database = await Api.NewDatabaseAsync("wake_up");
        await using var receiver = await Receiver.StartAsync();
        // The writer delivers nothing itself: its webhook engine is not running.
        await using var writer = Instance(database, web => web.ConfigureTestServices(services =>
        {
            var engine = services.Single(s => s.ServiceType == typeof(IHostedService) && s.ImplementationType == typeof(WebhookEngine));
            services.Remove(engine);
        }));
        await using var deliverer = Instance(database, _ => { });
        _ = deliverer.Server;
        var account = await ApiFixture.CreateAccountAsync(writer.Services, "Wake");
        using var anonymous = ApiFixture.Client(writer);
        using var client = ApiFixture.Client(writer, await ApiFixture.LoginAsync(anonymous, account.AccountId, account.TestKey));
        await CreateWebhookAsync(client, receiver.Url("/hook"), ["*"]);

        // A location (one unit of work) and a device (a batch statement): each wakes the other instance.
        var location = await CreateLocationAsync(client);
        await Wait.UntilAsync(() => receiver.To("/hook").Count() == 1, Deadline, "the location's delivery");
        var device = (await CreateDeviceAsync(client, CreateDeviceTests.SeedBody(location))).GetProperty("id").GetString()!;
        await Wait.UntilAsync(() => receiver.To("/hook").Count() == 2, Deadline, "the device's delivery");

        Assert.Equal([location, device], receiver.To("/hook").Select(r => r.ObjectId));
    }

    private WebApplicationFactory<Program> Instance(string database, Action<IWebHostBuilder> configure) =>
        Api.Factory.WithWebHostBuilder(web =>
        {
            web.UseSetting("ConnectionStrings:Postgres", database);
            web.UseSetting("Webhooks:PollSeconds", "3600");
            configure(web);
        });
}
