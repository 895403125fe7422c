using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Data;
using Npgsql;

namespace Flatpeak.Devices.Api.Events;

/// <summary>
/// Wakes the webhook dispatch of every instance when events have been committed, instead of each polling the feed
/// several times a second. A write that committed events calls <see cref="Committed"/>: this instance's dispatch wakes
/// at once, and the others through PostgreSQL <c>NOTIFY</c> on <see cref="Channel"/>, which every instance
/// <c>LISTEN</c>s on over a connection of its own. The notification is sent after the write, in a transaction of its
/// own, and at most once per <see cref="MinNotifyInterval"/>: a <c>NOTIFY</c> inside the writes would make their commits
/// take turns (PostgreSQL serialises the commits of notifying transactions), and batching lives on commits shared.
/// The dispatch's slow poll remains the safety net for a notification lost with a connection.
/// </summary>
public sealed partial class FeedSignal(NpgsqlDataSource database, IConfiguration configuration, ILogger<FeedSignal> logger) : BackgroundService
{
    public const string Channel = "flatpeak_feed";
    public static readonly TimeSpan MinNotifyInterval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan Reconnect = TimeSpan.FromSeconds(2);

    /// <summary>This instance's notifications carry it, so that it does not wake itself twice.</summary>
    private readonly string _instance = Guid.NewGuid().ToString("N");
    private readonly WakeUp _dispatch = new();
    private readonly WakeUp _notify = new();

    /// <summary>Events were committed here: wake this instance's dispatch now, and the others' soon.</summary>
    public void Committed()
    {
        _dispatch.Now();
        _notify.Now();
    }

    /// <summary>Wakes this instance's dispatch alone: it stopped reading the feed for want of room, and has room again.</summary>
    public void ReadAgain() => _dispatch.Now();

    /// <summary>True when woken (events committed here or elsewhere, or the listener (re)connected), false when the timeout passed.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _dispatch.WaitAsync(timeout, cancellationToken);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.WhenAll(ListenAsync(stoppingToken), NotifyAsync(stoppingToken));

    public override void Dispose()
    {
        _dispatch.Dispose();
        _notify.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// A connection of its own, outside the pool (a pooled one would go back to the pool still listening), straight to
    /// PostgreSQL (a transaction pooler would not keep a session listening), with keepalives on, so that a dead
    /// connection is noticed and replaced.
    /// </summary>
    private NpgsqlConnection ListenerConnection()
    {
        var builder = new NpgsqlConnectionStringBuilder(DataExtensions.DirectConnectionString(configuration))
        {
            Pooling = false,
            KeepAlive = 15,
        };
        return new NpgsqlConnection(builder.ConnectionString);
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = ListenerConnection();
                await connection.OpenAsync(stoppingToken);
                connection.Notification += (_, e) =>
                {
                    if (e.Payload != _instance)
                    {
                        _dispatch.Now();
                    }
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Whatever was committed while no one listened is read now.
                _dispatch.Now();
                while (true)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException)
            {
                LogListenerLost(logger, e.Message, Reconnect.TotalSeconds);
                await PauseAsync(Reconnect, stoppingToken);
            }
        }
    }

    private async Task NotifyAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _notify.WaitAsync(stoppingToken);
                await using (var notify = database.CreateCommand("SELECT pg_notify(@channel, @instance)"))
                {
                    notify.Parameters.AddWithValue("channel", Channel);
                    notify.Parameters.AddWithValue("instance", _instance);
                    await notify.ExecuteNonQueryAsync(stoppingToken);
                }

                await Task.Delay(MinNotifyInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                // The others find these events at their next poll.
                LogNotifyFailed(logger, e.Message);
                await PauseAsync(Reconnect, stoppingToken);
            }
        }
    }

    private static async Task PauseAsync(TimeSpan pause, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(pause, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the event feed's notifications ({Reason}); listening again in {Seconds} s, polling meanwhile")]
    private static partial void LogListenerLost(ILogger logger, string reason, double seconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not notify the other instances of new events ({Reason}); they find them at their next poll")]
    private static partial void LogNotifyFailed(ILogger logger, string reason);
}
