using Flatpeak.Devices.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Idempotency;

/// <summary>Deletes idempotency keys older than 24 hours, once an hour (every instance does; the work is the same).</summary>
public sealed partial class IdempotencyKeyPruner(IServiceProvider services, TimeProvider time, ILogger<IdempotencyKeyPruner> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);
    private const int BatchSize = 1000;

    public async Task<int> PruneOnceAsync(CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DevicesDbContext>();
        var cutoff = time.GetUtcNow() - IdempotencyFilter.Retention;
        // In small batches, each its own short transaction: one long delete would hold back the event feed, which
        // shows only events of transactions older than every one still running.
        var pruned = 0;
        int batch;
        do
        {
            batch = await db.Database.ExecuteSqlInterpolatedAsync($"""
                DELETE FROM idempotency_keys WHERE ctid IN (
                    SELECT ctid FROM idempotency_keys WHERE time_created < {cutoff} LIMIT {BatchSize})
                """, cancellationToken);
            pruned += batch;
        }
        while (batch == BatchSize);

        return pruned;
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
