using System.ComponentModel.DataAnnotations;
using System.Text;

namespace Flatpeak.Devices.Api.Auth;

public sealed class AuthOptions
{
    public const string Section = "Auth";
    public const int MinimumKeyBytes = 32;

    /// <summary>The HS256 key that signs and checks bearer tokens: at least 32 bytes of UTF-8.</summary>
    [Required]
    public string SigningKey { get; set; } = string.Empty;

    /// <summary>The <c>iss</c> claim written into tokens and required of every token presented.</summary>
    [Required]
    public string Issuer { get; set; } = "flatpeak-devices";

    /// <summary>Lifetime of a bearer token; API.md's login example answers <c>expires_in: 3600</c>.</summary>
    [Range(60, 86400)]
    public int TokenLifetimeSeconds { get; set; } = 3600;

    /// <summary>How often every instance reloads the revoked keys: a revoked key's tokens stop working within this time.</summary>
    [Range(1, 60)]
    public int RevocationRefreshSeconds { get; set; } = 30;

    public byte[] SigningKeyBytes => Encoding.UTF8.GetBytes(SigningKey);
}
