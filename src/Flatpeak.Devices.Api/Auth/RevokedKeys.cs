using System.Collections.Frozen;
using Flatpeak.Devices.Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Flatpeak.Devices.Api.Auth;

/// <summary>
/// The ids of API keys revoked recently enough that tokens issued for them may still be unexpired, refreshed from the
/// database every <c>Auth:RevocationRefreshSeconds</c> by every instance: a revoked key's tokens stop working
/// everywhere within that time, at the cost of one set lookup per request.
/// </summary>
public sealed partial class RevokedKeys(
    IServiceProvider services, TimeProvider time, IOptions<AuthOptions> options, IHostApplicationLifetime lifetime, ILogger<RevokedKeys> logger)
    : BackgroundService
{
    /// <summary>How long a request right after start waits for the first load (a database that does not answer must not hold requests).</summary>
    private static readonly TimeSpan FirstLoadWait = TimeSpan.FromSeconds(2);

    private readonly TaskCompletionSource _firstLoad = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile FrozenSet<long> _revoked = FrozenSet<long>.Empty;

    /// <summary>Whether the key was revoked; waits for the first load after start (once, briefly).</summary>
    public async ValueTask<bool> ContainsAsync(long keyId)
    {
        if (!_firstLoad.Task.IsCompleted)
        {
            await _firstLoad.Task.WaitAsync(FirstLoadWait).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        return _revoked.Contains(keyId);
    }

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var since = time.GetUtcNow() - TimeSpan.FromSeconds(options.Value.TokenLifetimeSeconds) - AuthExtensions.ClockSkew;
        var ids = await scope.ServiceProvider.GetRequiredService<DevicesDbContext>().ApiKeys
            .Where(k => k.TimeRevoked != null && k.TimeRevoked > since)
            .Select(k => k.Id)
            .ToListAsync(cancellationToken);
        _revoked = ids.ToFrozenSet();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // After the host has started, that is after the migrations: the table is there.
        await Task.Delay(Timeout.Infinite, lifetime.ApplicationStarted).ContinueWith(_ => { }, TaskScheduler.Default);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.RevocationRefreshSeconds), time);
        do
        {
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRefreshFailed(logger, e);
            }

            _firstLoad.TrySetResult();
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing the revoked API keys failed; will try again")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}
