using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Flatpeak.Devices.Api.Accounts;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Auth;

public sealed record LoginResponse(string BearerToken, int ExpiresIn, bool LiveMode);

public static class LoginEndpoints
{
    public const string BasicChallenge = "Basic realm=\"Flatpeak Devices\", charset=\"UTF-8\"";

    private const string LoginPath = "/login";
    private const string TokensPath = "/auth/tokens";

    /// <summary>The paths that hand out tokens: <c>GET /login</c>, and busbar's name for it, <c>POST /auth/tokens</c>.</summary>
    public static readonly string[] Paths = [LoginPath, TokensPath];

    public static IEndpointRouteBuilder MapLogin(this IEndpointRouteBuilder routes)
    {
        routes.MapGet(LoginPath, Login)
            .WithName("login")
            .WithSummary("Exchange an account id and API key (HTTP Basic) for a bearer token")
            .AsTokenEndpoint();
        routes.MapPost(TokensPath, Login)
            .WithName("auth_token_create")
            .WithSummary("Exchange an account id and API key (HTTP Basic) for a bearer token (busbar's name for GET /login)")
            .WithDescription("The same credentials, answer and throttling as GET /login. A request body is not used; as on every " +
                "request, one over 64 KiB is refused (413), and one declared in a charset other than UTF-8 (415).")
            .ProducesApiError(StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType)
            .AsTokenEndpoint();
        return routes;
    }

    private static RouteHandlerBuilder AsTokenEndpoint(this RouteHandlerBuilder endpoint) =>
        endpoint
            .WithTags("Authentication")
            .ProducesApiError(StatusCodes.Status401Unauthorized, StatusCodes.Status429TooManyRequests, StatusCodes.Status503ServiceUnavailable)
            .WithStrictQuery()
            .AllowAnonymous();

    public static async Task<Results<Ok<LoginResponse>, JsonHttpResult<ApiError>>> Login(
        HttpContext http, DevicesDbContext db, TokenIssuer tokens, LoginThrottle throttle, CancellationToken cancellationToken)
    {
        if (!TryReadBasic(http.Request.Headers.Authorization.ToString(), out var accountId, out var apiKey))
        {
            return Unauthorized(http, "credentials_missing", "Send HTTP Basic credentials: the account id as the user name and an API key as the password.");
        }

        var address = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (throttle.RetryAfter(accountId, address) is { } wait)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
            http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return ApiErrors.Json(http, StatusCodes.Status429TooManyRequests, "rate_limited",
                $"Too many failed logins for this account or from this address; retry in {seconds} s.");
        }

        var mode = ApiKeySecrets.ModeOf(apiKey);
        if (mode is null || !ObjectIds.IsValid(accountId, ObjectIds.Account))
        {
            throttle.Failed(accountId, address);
            return InvalidCredentials(http);
        }

        var presented = ApiKeySecrets.Hash(apiKey);
        var candidates = await db.ApiKeys
            .Where(k => k.AccountId == accountId && k.LiveMode == mode && k.TimeRevoked == null)
            .Select(k => new { k.Id, k.KeyHash })
            .ToListAsync(cancellationToken);
        long? matched = null;
        // Compared against every key, and against a decoy when the account has none: a wrong key costs the same
        // whether the account exists or not.
        if (candidates.Count == 0)
        {
            candidates.Add(new { Id = 0L, KeyHash = Decoy });
        }

        foreach (var stored in candidates)
        {
            if (CryptographicOperations.FixedTimeEquals(stored.KeyHash, presented) && stored.KeyHash != Decoy)
            {
                matched = stored.Id;
            }
        }

        if (matched is not { } keyId)
        {
            throttle.Failed(accountId, address);
            return InvalidCredentials(http);
        }

        return TypedResults.Ok(new LoginResponse(tokens.Issue(accountId, mode.Value, keyId), tokens.LifetimeSeconds, mode.Value));
    }

    private static readonly byte[] Decoy = SHA256.HashData("no key has this hash"u8);

    private static JsonHttpResult<ApiError> InvalidCredentials(HttpContext http) =>
        Unauthorized(http, "credentials_invalid", "The account id or API key is not valid, or the key has been revoked.");

    private static JsonHttpResult<ApiError> Unauthorized(HttpContext http, string code, string message)
    {
        http.Response.Headers.WWWAuthenticate = BasicChallenge;
        return ApiErrors.Json(http, StatusCodes.Status401Unauthorized, code, message);
    }

    private static bool TryReadBasic(string header, out string accountId, out string apiKey)
    {
        accountId = apiKey = string.Empty;
        if (!AuthenticationHeaderValue.TryParse(header, out var value) ||
            !string.Equals(value.Scheme, "Basic", StringComparison.OrdinalIgnoreCase) || value.Parameter is null)
        {
            return false;
        }

        Span<byte> decoded = stackalloc byte[512];
        if (!Convert.TryFromBase64String(value.Parameter, decoded, out var length))
        {
            return false;
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(decoded[..length]);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        accountId = text[..colon];
        apiKey = text[(colon + 1)..];
        return true;
    }
}
