using System.Globalization;
using System.Threading.RateLimiting;
using Flatpeak.Devices.Api.Auth;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Flatpeak.Devices.Api.Common;

/// <summary>Limits of the per-account-and-mode token bucket (configuration section <c>RateLimiting</c>).</summary>
public sealed class RateLimitingOptions
{
    public const string Section = "RateLimiting";

    /// <summary>Requests a caller may send at once (the bucket's size).</summary>
    [System.ComponentModel.DataAnnotations.Range(1, int.MaxValue)]
    public int TokenLimit { get; set; } = 200;

    /// <summary>Requests added back to the bucket every period.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, int.MaxValue)]
    public int TokensPerPeriod { get; set; } = 100;

    [System.ComponentModel.DataAnnotations.Range(0.001, 86_400)]
    public double PeriodSeconds { get; set; } = 1;
}

/// <summary>
/// A token bucket per account and mode, in each instance's memory. Requests without a valid token (login,
/// health, documentation) are not limited here: they never reach the database without credentials.
/// </summary>
public static class RateLimiting
{
    public static IServiceCollection AddApiRateLimiting(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RateLimitingOptions>().Bind(configuration.GetSection(RateLimitingOptions.Section));
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitingOptions>>((limiter, limits) =>
        {
            var bucket = new TokenBucketRateLimiterOptions
            {
                TokenLimit = limits.Value.TokenLimit,
                TokensPerPeriod = limits.Value.TokensPerPeriod,
                ReplenishmentPeriod = TimeSpan.FromSeconds(limits.Value.PeriodSeconds),
                QueueLimit = 0,
                AutoReplenishment = true,
            };
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
                Caller.From(http.User) is { } caller
                    ? RateLimitPartition.GetTokenBucketLimiter($"{caller.AccountId}/{(caller.LiveMode ? "live" : "test")}", _ => bucket)
                    : RateLimitPartition.GetNoLimiter(string.Empty));
            limiter.OnRejected = (context, _) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                return new ValueTask(ApiErrors.WriteAsync(context.HttpContext, StatusCodes.Status429TooManyRequests, "rate_limited",
                    $"Too many requests for this account and mode; retry in {seconds} s."));
            };
        });
        return services;
    }
}
