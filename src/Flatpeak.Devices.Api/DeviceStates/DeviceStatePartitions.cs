using System.Globalization;
using Flatpeak.Devices.Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Flatpeak.Devices.Api.DeviceStates;

/// <summary>
/// Keeps <c>device_states</c> bounded: one partition per calendar month (UTC) of <c>time</c>, made from the month the
/// retention reaches back to until two months ahead, and a month's partition dropped once all of it is older than the
/// retention (with the <c>record_reference_id</c>s of its records). Every instance does it, at start and then hourly;
/// the statements are idempotent. Plain SQL on the service's own connection, so it works on any managed PostgreSQL
/// (no extension such as pg_partman is needed).
/// </summary>
public sealed partial class DeviceStatePartitions(
    IServiceProvider services, NpgsqlDataSource database, TimeProvider time, IOptions<DeviceStateOptions> options, ILogger<DeviceStatePartitions> logger)
    : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>
    /// How long making or dropping a partition waits for its lock on <c>device_states</c>. Either needs the table to
    /// itself, so while it waits every submission and read queues behind it; past this it gives up and the next
    /// maintenance (the hour after; partitions are made two months ahead) tries again.
    /// </summary>
    public static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(2);
    private const string Prefix = "device_states_p";

    /// <summary>The oldest <c>time</c> a record may have now.</summary>
    public DateTimeOffset Horizon => time.GetUtcNow() - TimeSpan.FromDays(options.Value.RetentionDays);

    /// <summary>Makes the partitions needed and drops the expired ones; returns the names of those dropped.</summary>
    public async Task<IReadOnlyList<string>> MaintainAsync(CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<DevicesDbContext>();
        var horizon = Horizon;
        var partitions = await db.Database.SqlQueryRaw<string>(
            "SELECT c.relname AS \"Value\" FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'device_states'::regclass")
            .ToListAsync(cancellationToken);
        var end = MonthOf(time.GetUtcNow()).AddMonths(3);
        for (var month = MonthOf(horizon); month < end; month = month.AddMonths(1))
        {
            if (partitions.Contains(NameOf(month)))
            {
                continue;
            }

            // DDL takes no parameters; the name and bounds are made from dates, never from input.
            var create = $"CREATE TABLE IF NOT EXISTS {NameOf(month)} PARTITION OF device_states " +
                $"FOR VALUES FROM ('{month:yyyy-MM-dd}T00:00:00Z') TO ('{month.AddMonths(1):yyyy-MM-dd}T00:00:00Z')";
            await ChangeAsync(create, NameOf(month), cancellationToken);
        }

        var dropped = new List<string>();
        foreach (var partition in partitions.Where(p => p.StartsWith(Prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            if (DateTimeOffset.TryParseExact(partition[Prefix.Length..], "yyyyMM", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var month) &&
                month.AddMonths(1) <= horizon)
            {
                // A name read from the catalog and matched against the partitions' own pattern.
                if (await ChangeAsync($"DROP TABLE IF EXISTS {partition}", partition, cancellationToken))
                {
                    dropped.Add(partition);
                }
            }
        }

        await db.Database.ExecuteSqlAsync($"DELETE FROM device_state_references WHERE state_time < {MonthOf(horizon)}", cancellationToken);
        return dropped;
    }

    /// <summary>Runs one change of the partitions, waiting at most <see cref="LockTimeout"/> for its lock; false if it gave up.</summary>
    private async Task<bool> ChangeAsync(string ddl, string partition, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var timeout = $"SET LOCAL lock_timeout = {(int)LockTimeout.TotalMilliseconds}";
        try
        {
            await using (var command = new NpgsqlCommand(timeout, connection, transaction))
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var command = new NpgsqlCommand(ddl, connection, transaction))
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return true;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            LogPostponed(logger, partition, LockTimeout.TotalSeconds);
            return false;
        }
    }

    /// <summary>The first maintenance before the service answers requests (a record must find its month's partition).</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await MaintainAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFailed(logger, e);
        }

        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var dropped = await MaintainAsync(stoppingToken);
                foreach (var partition in dropped)
                {
                    LogDropped(logger, partition);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(logger, e);
            }
        }
    }

    private static DateTimeOffset MonthOf(DateTimeOffset at) => new(at.UtcDateTime.Year, at.UtcDateTime.Month, 1, 0, 0, 0, TimeSpan.Zero);

    private static string NameOf(DateTimeOffset month) => $"{Prefix}{month:yyyyMM}";

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped the expired device state partition {Partition}")]
    private static partial void LogDropped(ILogger logger, string partition);

    [LoggerMessage(Level = LogLevel.Warning, Message = "device_states was in use for {Seconds} s: {Partition} is left for the next maintenance")]
    private static partial void LogPostponed(ILogger logger, string partition, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device state partition maintenance failed; will try again")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
