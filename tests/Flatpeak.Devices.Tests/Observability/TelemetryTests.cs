using System.Collections.Concurrent;
using System.Net;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Flatpeak.Devices.Tests.Observability;

public sealed class TelemetryTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task With_an_otlp_endpoint_configured_metrics_and_traces_are_exported()
    {
        // A stand-in OTLP/HTTP collector that counts what it receives.
        var received = new ConcurrentDictionary<string, int>();
        var port = TestPostgres.FreePort();
        var collectorBuilder = WebApplication.CreateSlimBuilder();
        collectorBuilder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        await using var collector = collectorBuilder.Build();
        collector.MapPost("/v1/{signal}", (string signal) =>
        {
            received.AddOrUpdate(signal, 1, (_, n) => n + 1);
            return Results.Ok();
        });
        await collector.StartAsync();

        await using var observed = Api.Factory.WithWebHostBuilder(web =>
        {
            web.UseSetting("OpenTelemetry:OtlpEndpoint", $"http://127.0.0.1:{port}/");
            web.UseSetting("OpenTelemetry:Protocol", "http/protobuf");
            web.UseSetting("OpenTelemetry:ExportIntervalMilliseconds", "200");
        });
        var account = await CreateAccountAsync();
        using var client = observed.CreateClient();
        using var login = new HttpRequestMessage(HttpMethod.Get, "/login");
        login.Headers.Authorization = ApiFixture.BasicAuth(account.AccountId, account.TestKey);
        using var response = await client.SendAsync(login);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        for (var i = 0; i < 300 && !(received.ContainsKey("metrics") && received.ContainsKey("traces")); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(received.ContainsKey("metrics"), "no metrics were exported");
        Assert.True(received.ContainsKey("traces"), "no traces were exported");
    }

    [Fact]
    public void Without_an_endpoint_telemetry_is_off()
    {
        Assert.Null(Api.Factory.Services.GetService(typeof(OpenTelemetry.Metrics.MeterProvider)));
    }
}
