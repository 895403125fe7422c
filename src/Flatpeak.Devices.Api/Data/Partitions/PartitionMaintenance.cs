using System.Globalization;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.DeviceStates;
using Flatpeak.Devices.Api.Events;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Flatpeak.Devices.Api.Data.Partitions;

/// <summary>
/// A table partitioned by calendar month (UTC), kept for a retention: its partitions are <c>{Table}_pYYYYMM</c>.
/// </summary>
/// <param name="Table">The partitioned table.</param>
/// <param name="Bound">A month's start as a value of the partition key, in text.</param>
/// <param name="Horizon">The oldest instant kept, given now.</param>
/// <param name="Forget">A statement run after the drops, with <c>@bound</c> = the oldest month kept (<see cref="Bound"/>'s
/// value): rows elsewhere that belong to the dropped months.</param>
public sealed record MonthlyTable(string Table, Func<DateTimeOffset, string> Bound, Func<DateTimeOffset, DateTimeOffset> Horizon, string Forget)
{
    public string Prefix => Table + "_p";

    public string NameOf(DateTimeOffset month) => $"{Prefix}{month:yyyyMM}";
}

/// <summary>
/// Keeps the partitioned tables bounded: for each, one partition per calendar month (UTC), made from the month its
/// retention reaches back to until two months ahead, and a month's partition dropped once all of it is older than the
/// retention (with the rows elsewhere that belong to it). Every instance does it, at start (before the service answers:
/// a row must find its month's partition) and then hourly; the statements are idempotent. Plain SQL on the service's
/// own connection, so it works on any managed PostgreSQL (no extension such as pg_partman is needed).
/// </summary>
public sealed partial class PartitionMaintenance(
    NpgsqlDataSource database, TimeProvider time, IOptions<DeviceStateOptions> states, IOptions<EventOptions> events,
    ILogger<PartitionMaintenance> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>
    /// How long making or dropping a partition keeps trying for the table to itself; past this it gives up and the next
    /// maintenance (the hour after; partitions are made two months ahead) tries again.
    /// </summary>
    public static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan LockRetry = TimeSpan.FromMilliseconds(100);

    /// <summary>Device state records, by month of their <c>time</c>; a record's <c>record_reference_id</c> goes with it.</summary>
    public MonthlyTable DeviceStates { get; } = new(
        "device_states",
        month => $"{month:yyyy-MM-dd}T00:00:00Z",
        now => now - TimeSpan.FromDays(states.Value.RetentionDays),
        "DELETE FROM device_state_references WHERE state_time < @bound::timestamptz");

    /// <summary>Events, by month of their id (ids begin with their creation time); their deliveries go with them.</summary>
    public MonthlyTable Events { get; } = new(
        "events",
        month => ObjectIds.FirstAt(ObjectIds.Event, month),
        now => now - TimeSpan.FromDays(events.Value.RetentionDays),
        "DELETE FROM webhook_deliveries WHERE event_id < @bound");

    /// <summary>The oldest <c>time</c> a device state record may have now.</summary>
    public DateTimeOffset DeviceStatesHorizon => DeviceStates.Horizon(time.GetUtcNow());

    /// <summary>The oldest event id served now.</summary>
    public string EventsHorizon => ObjectIds.FirstAt(ObjectIds.Event, Events.Horizon(time.GetUtcNow()));

    /// <summary>Makes the partitions needed and drops the expired ones, of every table; returns the names of those dropped.</summary>
    public async Task<IReadOnlyList<string>> MaintainAsync(CancellationToken cancellationToken)
    {
        var dropped = new List<string>();
        foreach (var table in new[] { DeviceStates, Events })
        {
            dropped.AddRange(await MaintainAsync(table, cancellationToken));
        }

        return dropped;
    }

    private async Task<IReadOnlyList<string>> MaintainAsync(MonthlyTable table, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var horizon = table.Horizon(now);
        var partitions = await PartitionsOfAsync(table, cancellationToken);
        var end = MonthOf(now).AddMonths(3);
        for (var month = MonthOf(horizon); month < end; month = month.AddMonths(1))
        {
            if (partitions.Contains(table.NameOf(month)))
            {
                continue;
            }

            // DDL takes no parameters; the names and bounds are made from dates, never from input.
            var create = $"CREATE TABLE IF NOT EXISTS {table.NameOf(month)} PARTITION OF {table.Table} " +
                $"FOR VALUES FROM ('{table.Bound(month)}') TO ('{table.Bound(month.AddMonths(1))}')";
            if (!await ChangeAsync(table, create, table.NameOf(month), cancellationToken))
            {
                // The table is busy: the rest of its work waits for the next maintenance too.
                return [];
            }
        }

        var dropped = new List<string>();
        foreach (var partition in partitions.Order(StringComparer.Ordinal))
        {
            if (!DateTimeOffset.TryParseExact(partition[table.Prefix.Length..], "yyyyMM", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var month) ||
                month.AddMonths(1) > horizon)
            {
                continue;
            }

            if (!await ChangeAsync(table, $"DROP TABLE IF EXISTS {partition}", partition, cancellationToken))
            {
                break;
            }

            dropped.Add(partition);
        }

        await using var forget = database.CreateCommand(table.Forget);
        forget.Parameters.AddWithValue("bound", table.Bound(MonthOf(horizon)));
        await forget.ExecuteNonQueryAsync(cancellationToken);
        return dropped;
    }

    /// <summary>The table's partitions named as this class names them.</summary>
    private async Task<List<string>> PartitionsOfAsync(MonthlyTable table, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = @table::regclass");
        command.Parameters.AddWithValue("table", table.Table);
        var names = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var name = reader.GetString(0);
            if (name.StartsWith(table.Prefix, StringComparison.Ordinal) && name.Length == table.Prefix.Length + 6 && name[table.Prefix.Length..].All(char.IsAsciiDigit))
            {
                names.Add(name);
            }
        }

        return names;
    }

    /// <summary>
    /// Runs one change of the partitions under the table's exclusive lock, taken without waiting in its queue
    /// (<c>NOWAIT</c>: a waiting lock request would hold up every later reader and writer of the table behind it). While
    /// the table is in use it tries again every <see cref="LockRetry"/>, for <see cref="LockTimeout"/> at most; false if
    /// it gave up.
    /// </summary>
    private async Task<bool> ChangeAsync(MonthlyTable table, string ddl, string partition, CancellationToken cancellationToken)
    {
        // The table's name is one of this class's own.
        var lockTable = $"LOCK TABLE {table.Table} IN ACCESS EXCLUSIVE MODE NOWAIT";
        for (var waited = TimeSpan.Zero; ; waited += LockRetry)
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            try
            {
                await using (var command = new NpgsqlCommand(lockTable, connection, transaction))
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
                if (waited >= LockTimeout)
                {
                    LogPostponed(logger, partition, LockTimeout.TotalSeconds);
                    return false;
                }
            }

            await Task.Delay(LockRetry, cancellationToken);
        }
    }

    /// <summary>The first maintenance before the service answers requests.</summary>
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
                foreach (var partition in await MaintainAsync(stoppingToken))
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

    public static DateTimeOffset MonthOf(DateTimeOffset at) => new(at.UtcDateTime.Year, at.UtcDateTime.Month, 1, 0, 0, 0, TimeSpan.Zero);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped the expired partition {Partition}")]
    private static partial void LogDropped(ILogger logger, string partition);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Its table was in use for {Seconds} s: {Partition} is left for the next maintenance")]
    private static partial void LogPostponed(ILogger logger, string partition, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition maintenance failed; will try again")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
