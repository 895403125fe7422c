using System.Diagnostics.Metrics;
using Npgsql;

namespace Flatpeak.Devices.Api.Events;

/// <summary>The oldest transaction holding the feed's horizon back, as <see cref="FeedHorizon"/> last found it.</summary>
/// <param name="LagSeconds">How long it has been running (0 when none is).</param>
/// <param name="ProcessId">Its PostgreSQL backend (<c>pg_stat_activity.pid</c>), if any.</param>
/// <param name="ApplicationName">The backend's <c>application_name</c>.</param>
/// <param name="State">The backend's state, e.g. <c>idle in transaction</c>.</param>
public sealed record FeedHold(double LagSeconds, int? ProcessId, string? ApplicationName, string? State);

/// <summary>
/// Watches how far the event feed's horizon lags behind now. <c>GET /events</c> and webhook delivery show an event
/// only once every transaction older than its own has ended (<see cref="EventFeed"/>), so one transaction left open
/// anywhere in the cluster (an <c>idle in transaction</c> session, a long report) holds back every tenant's events for
/// as long as it runs. Every <see cref="Interval"/> this reads the oldest running transaction that has an id (only those
/// hold the horizon, and a forgotten prepared transaction too), exports its age as the gauge <c>events.feed.horizon_lag</c> (seconds), and logs a warning naming
/// its backend once it is older than <see cref="WarnAfter"/>. Sessions of other roles are visible only to a role with
/// <c>pg_read_all_stats</c> (or <c>pg_monitor</c>); without it the service sees its own role's.
/// </summary>
public sealed partial class FeedHorizon(NpgsqlDataSource database, IMeterFactory meters, ILogger<FeedHorizon> logger) : BackgroundService
{
    public const string MeterName = "Flatpeak.Devices.Events";
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan WarnAfter = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The running transaction with the oldest id (the one <c>pg_snapshot_xmin</c>, the feed's horizon, waits for),
    /// among sessions and forgotten prepared (two-phase) transactions.
    /// </summary>
    public const string OldestHolderStatement = """
        SELECT lag, pid, application_name, state FROM (
            SELECT extract(epoch FROM clock_timestamp() - xact_start)::double precision AS lag, pid, application_name, state,
                   age(backend_xid) AS age
            FROM pg_stat_activity
            WHERE backend_xid IS NOT NULL AND xact_start IS NOT NULL AND pid <> pg_backend_pid()
            UNION ALL
            SELECT extract(epoch FROM clock_timestamp() - prepared)::double precision, NULL, 'prepared transaction ' || gid, 'prepared',
                   age(transaction)
            FROM pg_prepared_xacts
        ) holders
        ORDER BY age DESC
        LIMIT 1
        """;

    private FeedHold _last = new(0, null, null, null);

    public FeedHold Last => _last;

    public async Task<FeedHold> MeasureAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(OldestHolderStatement);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var hold = await reader.ReadAsync(cancellationToken)
            ? new FeedHold(
                Math.Max(0, reader.GetDouble(0)), reader.IsDBNull(1) ? null : reader.GetInt32(1),
                reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3))
            : new FeedHold(0, null, null, null);
        _last = hold;
        return hold;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("events.feed.horizon_lag", () => _last.LagSeconds, unit: "s",
            description: "Age of the oldest running transaction that holds back GET /events and webhook delivery.");
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                var hold = await MeasureAsync(stoppingToken);
                if (hold.LagSeconds > WarnAfter.TotalSeconds)
                {
                    LogHeld(logger, hold.LagSeconds, hold.ProcessId, hold.ApplicationName, hold.State);
                }
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                LogFailed(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "The event feed is held back {Seconds:F0} s by the transaction of PostgreSQL backend {Pid} ({ApplicationName}, {State}); docs/operations.md, \"A stuck event feed\"")]
    private static partial void LogHeld(ILogger logger, double seconds, int? pid, string? applicationName, string? state);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not read the event feed's horizon: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
