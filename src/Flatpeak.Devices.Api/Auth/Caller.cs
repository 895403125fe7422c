using System.Security.Claims;
using Flatpeak.Devices.Api.Common;

namespace Flatpeak.Devices.Api.Auth;

/// <summary>Who is calling: the account and mode that the bearer token was issued for.</summary>
public sealed record Caller(string AccountId, bool LiveMode)
{
    public const string AccountIdClaim = "account_id";
    public const string LiveModeClaim = "live_mode";

    /// <summary>Lets handlers take a <see cref="Caller"/> parameter; endpoints that do so require authentication.</summary>
    public static ValueTask<Caller?> BindAsync(HttpContext http) => ValueTask.FromResult(From(http.User));

    public static Caller? From(ClaimsPrincipal user)
    {
        if (user.Identity?.IsAuthenticated != true)
        {
            return null;
        }

        var accountId = user.FindFirst(AccountIdClaim)?.Value;
        var liveMode = user.FindFirst(LiveModeClaim);
        return ObjectIds.IsValid(accountId, ObjectIds.Account) && liveMode is { ValueType: ClaimValueTypes.Boolean } && bool.TryParse(liveMode.Value, out var live)
            ? new Caller(accountId!, live)
            : null;
    }
}
