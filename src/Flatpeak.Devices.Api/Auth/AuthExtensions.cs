using System.Security.Claims;
using System.Security.Cryptography;
using Flatpeak.Devices.Api.Common;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Flatpeak.Devices.Api.Auth;

public static partial class AuthExtensions
{
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    public static WebApplicationBuilder AddApiAuthentication(this WebApplicationBuilder builder)
    {
        var signingKeyKey = $"{AuthOptions.Section}:{nameof(AuthOptions.SigningKey)}";
        if (builder.Environment.IsDevelopment() && string.IsNullOrEmpty(builder.Configuration[signingKeyKey]))
        {
            // Development only: a key for this process, so that `dotnet run` works out of the box.
            builder.Configuration[signingKeyKey] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));
            builder.Services.AddHostedService<DevelopmentSigningKeyWarning>();
        }

        builder.Services.AddOptions<AuthOptions>()
            .Bind(builder.Configuration.GetSection(AuthOptions.Section))
            .ValidateDataAnnotations()
            .Validate(o => o.SigningKeyBytes.Length >= AuthOptions.MinimumKeyBytes,
                $"'{signingKeyKey}' must be set to a secret of at least {AuthOptions.MinimumKeyBytes} bytes; the service does not start without it.")
            .ValidateOnStart();

        builder.Services.AddSingleton<TokenIssuer>();
        builder.Services.AddOptions<LoginThrottleOptions>().Bind(builder.Configuration.GetSection(LoginThrottleOptions.Section));
        builder.Services.AddSingleton<LoginThrottle>();
        builder.Services.AddSingleton<RevokedKeys>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RevokedKeys>());
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<AuthOptions>>((jwt, auth) => ConfigureJwtBearer(jwt, auth.Value));
        builder.Services.AddAuthorization();
        return builder;
    }

    private static void ConfigureJwtBearer(JwtBearerOptions jwt, AuthOptions auth)
    {
        jwt.MapInboundClaims = false;
        jwt.TokenValidationParameters = new TokenValidationParameters
        {
            ValidIssuer = auth.Issuer,
            ValidateIssuer = true,
            ValidateAudience = false,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = ClockSkew,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            IssuerSigningKey = new SymmetricSecurityKey(auth.SigningKeyBytes),
        };
        jwt.Events = new JwtBearerEvents
        {
            // Tokens come from the Authorization header only (the handler's default): never from the query string.
            OnTokenValidated = async context =>
            {
                var principal = context.Principal ?? new ClaimsPrincipal();
                if (Caller.From(principal) is null)
                {
                    context.Fail("The token lacks a well-formed account_id or live_mode claim.");
                }
                else if (!long.TryParse(principal.FindFirst(TokenIssuer.KeyIdClaim)?.Value, out var keyId))
                {
                    context.Fail("The token does not say which API key it was issued for.");
                }
                else if (await context.HttpContext.RequestServices.GetRequiredService<RevokedKeys>().ContainsAsync(keyId))
                {
                    context.Fail("The API key this token was issued for has been revoked.");
                }
            },
            OnChallenge = async context =>
            {
                context.HandleResponse();
                var http = context.HttpContext;
                var tokenSent = http.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase);
                if (!tokenSent)
                {
                    http.Response.Headers.WWWAuthenticate = "Bearer";
                    await ApiErrors.WriteAsync(http, StatusCodes.Status401Unauthorized, "token_missing",
                        "Send a bearer token from GET /login in the Authorization header: 'Authorization: Bearer <token>'.");
                    return;
                }

                var expired = context.AuthenticateFailure is SecurityTokenExpiredException;
                http.Response.Headers.WWWAuthenticate = expired
                    ? "Bearer error=\"invalid_token\", error_description=\"The token has expired\""
                    : "Bearer error=\"invalid_token\"";
                await ApiErrors.WriteAsync(http, StatusCodes.Status401Unauthorized,
                    expired ? "token_expired" : "token_invalid",
                    expired ? "The bearer token has expired; get a new one from GET /login." : "The bearer token is not valid.");
            },
        };
    }

    private sealed partial class DevelopmentSigningKeyWarning(ILogger<DevelopmentSigningKeyWarning> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            LogGeneratedKey(logger);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Warning, Message = "Auth:SigningKey is not set: using a random development key; tokens will not survive a restart.")]
        private static partial void LogGeneratedKey(ILogger logger);
    }
}
