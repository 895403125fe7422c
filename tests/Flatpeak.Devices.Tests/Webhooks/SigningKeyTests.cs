using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;

namespace Flatpeak.Devices.Tests.Webhooks;

/// <summary>The documented way to make a signing key (scripts/new-webhook-key.sh) makes one the service takes.</summary>
public sealed class SigningKeyTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    [Fact]
    public async Task A_key_from_the_documented_command_is_taken_and_published()
    {
        var (exit, stdout, stderr) = await Repository.RunScriptAsync("scripts/new-webhook-key.sh");
        Assert.True(exit == 0, stderr);
        var key = stdout.Trim();
        using var expected = RSA.Create();
        expected.ImportPkcs8PrivateKey(Convert.FromBase64String(key), out _);

        await using var service = Api.Factory.WithWebHostBuilder(web =>
        {
            web.UseSetting("Webhooks:SigningKeys:0:KeyId", "made-by-the-script");
            web.UseSetting("Webhooks:SigningKeys:0:PrivateKey", key);
            web.UseSetting("Webhooks:ActiveSigningKey", "made-by-the-script");
        });
        using var jwks = await ApiFixture.Client(service).GetAsync("/jwks.json");

        Assert.Equal(HttpStatusCode.OK, jwks.StatusCode);
        var published = (await ReadJsonAsync(jwks)).GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("kid").GetString() == "made-by-the-script");
        Assert.Equal(expected.ExportParameters(false).Modulus, Base64Url.DecodeFromChars(published.GetProperty("n").GetString()));
        Assert.Equal(2048, expected.KeySize);
    }
}
