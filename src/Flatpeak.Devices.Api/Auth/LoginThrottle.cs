using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Flatpeak.Devices.Api.Auth;

/// <summary>Limits of failed logins (configuration section <c>Login</c>).</summary>
public sealed class LoginThrottleOptions
{
    public const string Section = "Login";

    /// <summary>Failed logins for one account id within the window before that account id gets 429.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, int.MaxValue)]
    public int MaxFailuresPerAccount { get; set; } = 10;

    /// <summary>Failed logins from one client address within the window before that address gets 429.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, int.MaxValue)]
    public int MaxFailuresPerAddress { get; set; } = 30;

    [System.ComponentModel.DataAnnotations.Range(1, 86_400)]
    public int WindowSeconds { get; set; } = 60;
}

/// <summary>
/// Counts failed logins per account id and per client address, in each instance's memory, and refuses further
/// attempts with 429 once either is used up for the window. Only failures count, so a caller who logs in
/// correctly never spends anything, and other accounts and addresses are not slowed.
/// </summary>
public sealed class LoginThrottle : IDisposable
{
    private const int MaxKeyLength = 64;
    private readonly PartitionedRateLimiter<string> _accounts;
    private readonly PartitionedRateLimiter<string> _addresses;
    private readonly TimeSpan _window;

    public LoginThrottle(IOptions<LoginThrottleOptions> options)
    {
        _window = TimeSpan.FromSeconds(options.Value.WindowSeconds);
        _accounts = Create(options.Value.MaxFailuresPerAccount, _window);
        _addresses = Create(options.Value.MaxFailuresPerAddress, _window);
    }

    /// <summary>How long the caller must wait, or null when it may try.</summary>
    public TimeSpan? RetryAfter(string accountId, string address) =>
        RetryAfter(_accounts, Key(accountId)) ?? RetryAfter(_addresses, Key(address));

    public void Failed(string accountId, string address)
    {
        _accounts.AttemptAcquire(Key(accountId)).Dispose();
        _addresses.AttemptAcquire(Key(address)).Dispose();
    }

    public void Dispose()
    {
        _accounts.Dispose();
        _addresses.Dispose();
    }

    private TimeSpan? RetryAfter(PartitionedRateLimiter<string> limiter, string key)
    {
        // Asking for no permit tells whether any is left, without spending one.
        using var lease = limiter.AttemptAcquire(key, 0);
        return lease.IsAcquired ? null : lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : _window;
    }

    private static string Key(string value) => value.Length <= MaxKeyLength ? value : value[..MaxKeyLength];

    private static PartitionedRateLimiter<string> Create(int failures, TimeSpan window) =>
        PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = failures,
            Window = window,
            QueueLimit = 0,
        }));
}
