using System.Net;
using System.Net.Http.Headers;
using Flatpeak.Devices.Tests.Devices;
using Flatpeak.Devices.Tests.Infrastructure;
using Microsoft.IdentityModel.Tokens;

namespace Flatpeak.Devices.Tests.Auth;

public sealed class BearerTokenTests(ApiFixture api, ITestOutputHelper output) : ApiTest(api, output)
{
    private const string Context = "api.device_create";
    private const string SomeLocation = "loc_641b90b758fb8e6293716e40";

    [Fact]
    public async Task No_token_answers_401_with_a_bearer_challenge()
    {
        using var client = Api.Client();

        using var response = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(SomeLocation));

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, Context, "token_missing");
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
    }

    [Theory]
    [InlineData("Bearer garbage")]
    [InlineData("Bearer a.b.c")]
    [InlineData("Bearer ")]
    public async Task A_garbage_token_answers_401_invalid_token(string header)
    {
        using var client = Api.Client();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", header);

        using var response = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(SomeLocation));

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, Context, header.Trim() == "Bearer" ? "token_missing" : "token_invalid");
    }

    [Fact]
    public async Task A_basic_authorization_header_on_an_api_endpoint_answers_401()
    {
        var account = await CreateAccountAsync();
        using var client = Api.Client();
        client.DefaultRequestHeaders.Authorization = ApiFixture.BasicAuth(account.AccountId, account.TestKey);

        using var response = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(SomeLocation));

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, Context, "token_missing");
    }

    [Fact]
    public async Task An_expired_token_answers_401_token_expired()
    {
        var account = await CreateAccountAsync();
        var token = Tokens.Sign(Tokens.ClaimsFor(account.AccountId), expires: DateTime.UtcNow.AddMinutes(-2), notBefore: DateTime.UtcNow.AddHours(-1));
        using var client = Api.Client(token);

        using var response = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(SomeLocation));

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, Context, "token_expired");
        Assert.StartsWith("Bearer error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_expired_within_the_30_second_skew_is_still_accepted()
    {
        var (account, _) = await SignInAsync();
        var token = Tokens.Sign(Tokens.ClaimsFor(account.AccountId), expires: DateTime.UtcNow.AddSeconds(-10), notBefore: DateTime.UtcNow.AddHours(-1));
        using var client = Api.Client(token);

        using var response = await PostJsonAsync(client, "/locations", "{}");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task A_token_signed_with_another_key_answers_401()
    {
        var account = await CreateAccountAsync();
        var token = Tokens.Sign(Tokens.ClaimsFor(account.AccountId), signingKey: "another-key-that-is-long-enough-for-hs256-0123456789");
        using var client = Api.Client(token);

        using var response = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(SomeLocation));

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, Context, "token_invalid");
        Assert.Equal("Bearer error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task A_token_of_another_issuer_answers_401()
    {
        var account = await CreateAccountAsync();
        using var client = Api.Client(Tokens.Sign(Tokens.ClaimsFor(account.AccountId), issuer: "someone-else"));

        using var response = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(SomeLocation));

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, Context, "token_invalid");
    }

    [Fact]
    public async Task A_token_signed_with_another_algorithm_answers_401()
    {
        var account = await CreateAccountAsync();
        var token = Tokens.Sign(Tokens.ClaimsFor(account.AccountId), algorithm: SecurityAlgorithms.HmacSha512,
            signingKey: ApiFixture.SigningKey + ApiFixture.SigningKey);
        using var client = Api.Client(token);

        using var response = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(SomeLocation));

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, Context, "token_invalid");
    }

    [Fact]
    public async Task An_unsigned_token_answers_401()
    {
        var account = await CreateAccountAsync();
        var payload = Base64Url($$"""{"account_id":"{{account.AccountId}}","live_mode":false,"iss":"{{ApiFixture.Issuer}}","exp":{{DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds()}}}""");
        using var client = Api.Client($"{Base64Url("""{"alg":"none","typ":"JWT"}""")}.{payload}.");

        using var response = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(SomeLocation));

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, Context, "token_invalid");
    }

    public static TheoryData<string> MalformedClaims => new()
    {
        "missing account_id",
        "missing live_mode",
        "live_mode as a string",
        "account_id not an account id",
    };

    [Theory]
    [MemberData(nameof(MalformedClaims))]
    public async Task A_token_without_well_formed_account_and_mode_claims_answers_401(string defect)
    {
        var account = await CreateAccountAsync();
        var claims = Tokens.ClaimsFor(account.AccountId);
        switch (defect)
        {
            case "missing account_id": claims.Remove("account_id"); break;
            case "missing live_mode": claims.Remove("live_mode"); break;
            case "live_mode as a string": claims["live_mode"] = "false"; break;
            default: claims["account_id"] = "acme"; break;
        }

        using var client = Api.Client(Tokens.Sign(claims));

        using var response = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(SomeLocation));

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, Context, "token_invalid");
    }

    [Fact]
    public async Task A_token_without_expiry_answers_401()
    {
        var account = await CreateAccountAsync();
        var claims = Tokens.ClaimsFor(account.AccountId);
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = ApiFixture.Issuer,
            Claims = claims,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes(ApiFixture.SigningKey)), SecurityAlgorithms.HmacSha256),
        };
        var token = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
        using var client = Api.Client(token);

        using var response = await PostJsonAsync(client, "/devices", CreateDeviceTests.SeedBody(SomeLocation));

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, Context, "token_invalid");
    }

    [Fact]
    public async Task A_token_in_the_query_string_is_ignored()
    {
        var account = await CreateAccountAsync();
        var token = await Api.LoginAsync(account.AccountId, account.TestKey);
        using var client = Api.Client();

        using var response = await PostJsonAsync(client, $"/devices?access_token={token}", CreateDeviceTests.SeedBody(SomeLocation));

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, Context, "token_missing");
    }

    [Fact]
    public async Task The_token_is_checked_before_the_body_is_read()
    {
        using var client = Api.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "garbage");

        using var response = await PostJsonAsync(client, "/devices", "{ not json");

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, Context, "token_invalid");
    }

    private static string Base64Url(string json) =>
        Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
