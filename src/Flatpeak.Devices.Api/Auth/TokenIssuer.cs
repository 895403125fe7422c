using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Flatpeak.Devices.Api.Auth;

/// <summary>Signs the bearer tokens that <c>GET /login</c> hands out (HS256).</summary>
public sealed class TokenIssuer(IOptions<AuthOptions> options, TimeProvider time)
{
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly SigningCredentials _credentials = new(new SymmetricSecurityKey(options.Value.SigningKeyBytes), SecurityAlgorithms.HmacSha256);
    private readonly AuthOptions _options = options.Value;

    /// <summary>The id of the API key a token was issued for, so that revoking the key revokes its tokens.</summary>
    public const string KeyIdClaim = "key_id";

    public int LifetimeSeconds => _options.TokenLifetimeSeconds;

    public string Issue(string accountId, bool liveMode, long keyId)
    {
        var now = time.GetUtcNow().UtcDateTime;
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = _options.Issuer,
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddSeconds(_options.TokenLifetimeSeconds),
            SigningCredentials = _credentials,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = accountId,
                [Caller.AccountIdClaim] = accountId,
                [Caller.LiveModeClaim] = liveMode,
                [KeyIdClaim] = keyId,
            },
        });
    }
}
