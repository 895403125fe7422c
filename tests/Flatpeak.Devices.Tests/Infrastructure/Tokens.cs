using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Flatpeak.Devices.Tests.Infrastructure;

/// <summary>Signs bearer tokens with the test's own key, for the cases /login never hands out.</summary>
public static class Tokens
{
    public static string Sign(
        IDictionary<string, object> claims,
        string signingKey = ApiFixture.SigningKey,
        string issuer = ApiFixture.Issuer,
        DateTime? expires = null,
        DateTime? notBefore = null,
        string algorithm = SecurityAlgorithms.HmacSha256)
    {
        var now = DateTime.UtcNow;
        var key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey));
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            IssuedAt = now.AddMinutes(-1),
            NotBefore = notBefore ?? now.AddMinutes(-1),
            Expires = expires ?? now.AddHours(1),
            Claims = claims,
            SigningCredentials = new SigningCredentials(key, algorithm),
        });
    }

    public static Dictionary<string, object> ClaimsFor(string accountId, bool liveMode = false) => new()
    {
        ["sub"] = accountId,
        ["account_id"] = accountId,
        ["live_mode"] = liveMode,
        ["key_id"] = 0L,
    };
}
