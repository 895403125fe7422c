using Flatpeak.Devices.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Idempotency;

/// <summary>Deletes idempotency keys older than 24 hours, once an hour (every instance does; the work is the same).</summary>
public sealed partial class IdempotencyKeyPruner(IServiceProvider services, TimeProvider time, ILogger<IdempotencyKeyPruner> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    public async Task<int> PruneOnceAsync(CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var cutoff = time.GetUtcNow() - IdempotencyFilter.Retention;
        return await scope.ServiceProvider.GetRequiredService<DevicesDbContext>().IdempotencyKeys
            .Where(k => k.TimeCreated < cutoff)
            .ExecuteDeleteAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var pruned = await PruneOnceAsync(stoppingToken);
                LogPruned(logger, pruned);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogPruneFailed(logger, e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pruned {Count} expired idempotency keys")]
    private static partial void LogPruned(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pruning idempotency keys failed; will try again")]
    private static partial void LogPruneFailed(ILogger logger, Exception exception);
}
