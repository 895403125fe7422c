using System.Net;
using System.Text.Json;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Flatpeak.Devices.Tests.Auth;

public sealed class LoginTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    private const string Context = "api.login";

    [Theory]
    [InlineData("GET", "/login", false)]
    [InlineData("GET", "/login", true)]
    [InlineData("POST", "/auth/tokens", false)]
    [InlineData("POST", "/auth/tokens", true)]
    public async Task Login_and_busbars_auth_tokens_return_a_bearer_token_for_the_mode_of_the_key(string method, string path, bool liveMode)
    {
        var account = await CreateAccountAsync();
        using var client = Api.Client();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Authorization = ApiFixture.BasicAuth(account.AccountId, liveMode ? account.LiveKey : account.TestKey);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var body = await ReadJsonAsync(response);
        Assert.Equal(["bearer_token", "expires_in", "live_mode"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal(3600, body.GetProperty("expires_in").GetInt32());
        Assert.Equal(liveMode, body.GetProperty("live_mode").GetBoolean());

        var token = new JsonWebToken(body.GetProperty("bearer_token").GetString());
        Assert.Equal("HS256", token.Alg);
        Assert.Equal(account.AccountId, token.GetClaim("account_id").Value);
        Assert.Equal(account.AccountId, token.Subject);
        Assert.Equal(liveMode, token.GetPayloadValue<bool>("live_mode"));
        Assert.Equal(ApiFixture.Issuer, token.Issuer);
        Assert.Equal(3600, (token.ValidTo - token.IssuedAt).TotalSeconds);
        Assert.Equal(token.IssuedAt, token.ValidFrom);
        Assert.InRange(token.IssuedAt, DateTime.UtcNow.AddSeconds(-5), DateTime.UtcNow.AddSeconds(1));
        using var opened = await Api.Client(body.GetProperty("bearer_token").GetString()).GetAsync("/devices");
        Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
    }

    [Fact]
    public async Task Auth_tokens_with_a_wrong_key_answers_401_with_a_basic_challenge()
    {
        var account = await CreateAccountAsync();
        using var client = Api.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/auth/tokens") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = ApiFixture.BasicAuth(account.AccountId, "sk_test_" + new string('0', 48));

        using var response = await client.SendAsync(request);

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "api.auth_token_create", "credentials_invalid");
        Assert.StartsWith("Basic realm=", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    public static TheoryData<string?> BadHeaders => new()
    {
        null,
        "Basic",
        "Basic !!!notbase64!!!",
        "Basic " + Convert.ToBase64String("no-colon"u8.ToArray()),
        "Bearer something",
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public async Task Login_without_basic_credentials_answers_401(string? header)
    {
        using var client = Api.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/login");
        if (header is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", header);
        }

        using var response = await client.SendAsync(request);

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, Context, "credentials_missing");
        Assert.StartsWith("Basic realm=", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_with_a_wrong_key_a_key_of_another_account_or_an_unknown_account_answers_401()
    {
        var acme = await CreateAccountAsync("Acme");
        var globex = await CreateAccountAsync("Globex");

        foreach (var (user, password) in new[]
        {
            (acme.AccountId, "sk_test_" + new string('0', 48)),
            (acme.AccountId, globex.TestKey),
            (acme.AccountId, acme.TestKey[..^1]),
            (acme.AccountId, "not-a-key"),
            ("acc_000000000000000000000000", acme.TestKey),
            ("acme", acme.TestKey),
        })
        {
            using var client = Api.Client();
            using var request = new HttpRequestMessage(HttpMethod.Get, "/login");
            request.Headers.Authorization = ApiFixture.BasicAuth(user, password);

            using var response = await client.SendAsync(request);

            await AssertErrorAsync(response, HttpStatusCode.Unauthorized, Context, "credentials_invalid");
        }
    }

    [Fact]
    public async Task The_login_token_opens_the_api_in_its_mode()
    {
        var (account, client) = await SignInAsync(liveMode: true);

        using var response = await PostJsonAsync(client, "/locations", "{}");

        var location = await ReadJsonAsync(response);
        Assert.True(location.GetProperty("live_mode").GetBoolean());
        Assert.Equal(account.AccountId, location.GetProperty("account_id").GetString());
        Assert.Equal(JsonValueKind.String, location.GetProperty("id").ValueKind);
    }
}
