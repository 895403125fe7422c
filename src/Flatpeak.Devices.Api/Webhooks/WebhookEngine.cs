using System.Net.Http.Headers;
using System.Text.Json;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Common.Json;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Events;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Flatpeak.Devices.Api.Webhooks;

/// <summary>Wakes the engine's claims before their next poll: a manual retry, or due deliveries left unclaimed.</summary>
public sealed class WebhookWakeUp : WakeUp;

/// <summary>
/// Delivers events to webhook endpoints, inside the service: reads the feed into deliveries, claims due attempts,
/// sends each signed, records the outcome and schedules the next. Attempts run in the background with bounded
/// concurrency (in total and per endpoint), so a slow or dead receiver delays neither requests nor other receivers.
/// </summary>
public sealed partial class WebhookEngine(
    IServiceScopeFactory scopes, IHttpClientFactory clients, WebhookSigning signing, WebhookWakeUp wakeUp, FeedSignal feed, NpgsqlDataSource database,
    WebhookMetrics metrics, IOptions<WebhookOptions> options, TimeProvider time, ILogger<WebhookEngine> logger) : BackgroundService
{
    // The events a dispatch reads per account and mode: as many as its endpoints have room for here, at most the first; with no room, the second.
    private const int MaxDispatchBatch = 1000;
    private const int NoRoomDispatchBatch = 100;
    private static readonly TimeSpan Coalesce = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan FollowUp = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan RecordCoalesce = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan FailedRoundPause = TimeSpan.FromSeconds(2);

    private readonly System.Threading.Channels.Channel<WebhookDeliveryStatements.Outcome> _outcomes =
        System.Threading.Channels.Channel.CreateUnbounded<WebhookDeliveryStatements.Outcome>(new() { SingleReader = true });
    private readonly WebhookOptions _options = options.Value;

    private readonly HeldAttempts _held =
        new(options.Value.MaxConcurrentAttempts, options.Value.MaxConcurrentAttemptsPerEndpoint, options.Value.TimeoutSeconds, time);

    // One claim at a time (a dispatch's or the sender's), so that the room each is given is the room there is.
    private readonly SemaphoreSlim _claiming = new(1, 1);

    // Due deliveries may be waiting unclaimed: when half the room is free again, a finished attempt wakes the sender to claim them.
    private volatile bool _moreDue;

    // The dispatch stopped reading for want of room, with events left: when half the room is free again, a finished attempt wakes it.
    private volatile bool _feedBehind;

    /// <summary>Three loops: the feed into deliveries and first attempts out, further due attempts out (each when woken or on the poll), outcomes in (in batches).</summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(DispatchLoopAsync(stoppingToken), SendLoopAsync(stoppingToken), RecordLoopAsync(stoppingToken));

    /// <summary>
    /// Reads the feed into deliveries when events are committed (<see cref="FeedSignal"/>: here, or in another instance),
    /// when room freed lets a dispatch that stopped for want of it read on (<see cref="FeedSignal.ReadAgain"/>), and
    /// otherwise every <see cref="WebhookOptions.PollSeconds"/>. Woken, it waits <see cref="Coalesce"/> (a burst of
    /// commits makes one round), reads, and then reads once more (<see cref="FollowUpAsync"/>).
    /// </summary>
    private async Task DispatchLoopAsync(CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromSeconds(_options.PollSeconds);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await DispatchRoundAsync(stoppingToken);
                if (await feed.WaitAsync(poll, stoppingToken))
                {
                    await Task.Delay(Coalesce, time, stoppingToken);
                    await DispatchRoundAsync(stoppingToken);
                    await FollowUpAsync(poll, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Events committed while an older transaction still ran are held back until it ends (<see cref="EventFeed"/>), and
    /// that end wakes no one. So the next read waits until every transaction begun before now has ended, looking after
    /// <see cref="FollowUp"/>, then twice as long each time, and reads at the latest after the poll interval.
    /// </summary>
    private async Task FollowUpAsync(TimeSpan poll, CancellationToken stoppingToken)
    {
        try
        {
            var (_, begun) = await HorizonAsync(stoppingToken);
            for (var wait = FollowUp; wait < poll; wait *= 2)
            {
                await Task.Delay(wait, time, stoppingToken);
                var (settled, _) = await HorizonAsync(stoppingToken);
                if (settled >= begun)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            // The round says what is wrong.
        }

        await DispatchRoundAsync(stoppingToken);
    }

    private async Task<(long Settled, long Next)> HorizonAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(EventFeed.HorizonStatement);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private async Task DispatchRoundAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await DispatchAsync(stoppingToken))
            {
            }
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            RoundFailed(logger, e);
            await BackOffAsync(stoppingToken);
        }
    }

    private async Task SendLoopAsync(CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromSeconds(_options.PollSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await StartDueAttemptsAsync(stoppingToken);
                if (await wakeUp.WaitAsync(poll, stoppingToken))
                {
                    // Woken by a finished attempt or new deliveries: let a few more finish, and claim them in one statement.
                    await Task.Delay(Coalesce, time, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                RoundFailed(logger, e);
                await BackOffAsync(stoppingToken);
            }
        }
    }

    /// <summary>Writes the outcomes of finished attempts, as many as have piled up, in one statement.</summary>
    private async Task RecordLoopAsync(CancellationToken stoppingToken)
    {
        var batch = new List<WebhookDeliveryStatements.Outcome>();
        try
        {
            while (await _outcomes.Reader.WaitToReadAsync(stoppingToken))
            {
                // An outcome only needs writing before its lease runs out: let the ones just behind it join the statement.
                await Task.Delay(RecordCoalesce, time, stoppingToken);
                while (batch.Count < 500 && _outcomes.Reader.TryRead(out var outcome))
                {
                    batch.Add(outcome);
                }

                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    await WebhookDeliveryStatements.RecordAsync(scope.ServiceProvider.GetRequiredService<DevicesDbContext>(), batch, CancellationToken.None);
                }
                catch (Exception e)
                {
                    // Their leases run out and the attempts are made again: at least once.
                    RecordingFailed(logger, e, batch.Count);
                }

                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Gives back the claims of attempts let go unsent (<see cref="HeldAttempts"/>): due again at once, and not counted
    /// as attempts made. Failing, their leases run out and the next claim counts them; nothing is sent twice either way.
    /// </summary>
    private async Task ReleaseAsync(List<ClaimedAttempt> letGo)
    {
        foreach (var attempt in letGo)
        {
            LetGo(logger, attempt.Id);
        }

        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await WebhookDeliveryStatements.ReleaseAsync(scope.ServiceProvider.GetRequiredService<DevicesDbContext>(), letGo, CancellationToken.None);
            _moreDue = true;
            wakeUp.Now();
        }
        catch (Exception e)
        {
            RecordingFailed(logger, e, letGo.Count);
        }
    }

    /// <summary>After a failed round (the database is away, say): wait before the next, so that an outage is not logged five times a second.</summary>
    private async Task BackOffAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(FailedRoundPause, time, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>
    /// One dispatch: creates the deliveries of the next events and starts the first attempts that fit
    /// (<see cref="WebhookDeliveryStatements.DispatchAsync"/>). Returns whether to read again now; notes whether events
    /// are left for want of room (a finished attempt then wakes the dispatch).
    /// </summary>
    private async Task<bool> DispatchAsync(CancellationToken cancellationToken)
    {
        await _claiming.WaitAsync(cancellationToken);
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<DevicesDbContext>();
            var dispatched = await WebhookDeliveryStatements.DispatchAsync(
                db, MaxDispatchBatch, NoRoomDispatchBatch, _options.Schedule[0], time.GetUtcNow().TruncateToSeconds(), _held.Room(), cancellationToken);
            var (startable, letGo) = _held.Add(dispatched.Claimed);
            // The flags before any attempt starts, so that the first to finish sees them.
            var more = dispatched.Full && _held.Room().Limit > 0;
            _feedBehind = dispatched.Behind && !more;
            if (dispatched.LeftDue > 0)
            {
                _moreDue = true;
                wakeUp.Now();
            }

            Run(startable, letGo, cancellationToken);
            return more;
        }
        finally
        {
            _claiming.Release();
        }
    }

    private async Task StartDueAttemptsAsync(CancellationToken cancellationToken)
    {
        await _claiming.WaitAsync(cancellationToken);
        try
        {
            var room = _held.Room();
            if (room.Limit <= 0)
            {
                return;
            }

            await using var scope = scopes.CreateAsyncScope();
            var claimed = await WebhookDeliveryStatements.ClaimAsync(scope.ServiceProvider.GetRequiredService<DevicesDbContext>(), room, cancellationToken);
            // A claim that found any may have left more; so may one that found none for an endpoint at its limit here.
            _moreDue = claimed.Count > 0 || room.BusyCounts.Any(n => n >= room.PerEndpoint);
            var (startable, letGo) = _held.Add(claimed);
            Run(startable, letGo, cancellationToken);
        }
        finally
        {
            _claiming.Release();
        }
    }

    private void Run(List<ClaimedAttempt> startable, List<ClaimedAttempt> letGo, CancellationToken stoppingToken)
    {
        if (letGo.Count > 0)
        {
            _ = ReleaseAsync(letGo);
        }

        if (stoppingToken.IsCancellationRequested)
        {
            // Stopping: what has not started stays unsent, and its lease runs out.
            return;
        }

        foreach (var attempt in startable)
        {
            _ = Task.Run(() => AttemptAsync(attempt, stoppingToken), CancellationToken.None);
        }
    }

    private async Task AttemptAsync(ClaimedAttempt attempt, CancellationToken stoppingToken)
    {
        try
        {
            if (attempt.Attempts == 1)
            {
                metrics.FirstAttemptLag(time.GetUtcNow() - attempt.Event.WrittenAt);
            }

            var (code, error) = await SendAsync(attempt, stoppingToken);
            var succeeded = code is >= 200 and < 300;
            metrics.Attempted(succeeded ? "succeeded" : code is null ? "error" : "rejected");
            _outcomes.Writer.TryWrite(OutcomeOf(attempt, succeeded, code, error));
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            // Not the receiver's doing, but an attempt all the same: recorded as failed, so that it is not made over and over.
            AttemptFailed(logger, e, attempt.Id);
            metrics.Attempted("error");
            _outcomes.Writer.TryWrite(OutcomeOf(attempt, succeeded: false, code: null, "Internal error while sending."));
        }
        finally
        {
            var (startable, letGo, halfFree) = _held.Finished(attempt);
            Run(startable, letGo, stoppingToken);
            if (halfFree && _moreDue)
            {
                // Room to claim a good batch (this attempt stays leased until its outcome is written).
                wakeUp.Now();
            }

            if (halfFree && _feedBehind)
            {
                feed.ReadAgain();
            }
        }
    }

    /// <summary>What an attempt leaves the delivery as: succeeded; or, failing, pending until the schedule's next attempt, or failed after its last.</summary>
    private WebhookDeliveryStatements.Outcome OutcomeOf(ClaimedAttempt attempt, bool succeeded, int? code, string? error)
    {
        var schedule = _options.Schedule;
        if (succeeded || attempt.Attempts >= schedule.Count)
        {
            return new(attempt, succeeded ? "succeeded" : "failed", code, error, Next: null);
        }

        return new(attempt, "pending", code, error, Later(attempt.Event.TimeCreated + schedule[attempt.Attempts]));
    }

    /// <summary>When an attempt due at <paramref name="due"/> is made: then, or now (in whole seconds) if that has passed.</summary>
    private DateTimeOffset Later(DateTimeOffset due) => due > time.GetUtcNow() ? due : time.GetUtcNow().TruncateToSeconds();

    /// <summary>One POST of the event: the status code, or a short error when there was no HTTP answer.</summary>
    private async Task<(int? Code, string? Error)> SendAsync(ClaimedAttempt attempt, CancellationToken stoppingToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(EventResponse.From(attempt.Event), ApiJsonContext.Default.EventResponse);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, attempt.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("Flatpeak-Signature-Scheme", "v1");
        request.Headers.Add("Flatpeak-Timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("Flatpeak-Key-ID", signing.ActiveKeyId);
        request.Headers.Add("Flatpeak-Signature", "v1=" + signing.Sign(timestamp, body));
        request.Headers.Add("Flatpeak-Version", attempt.Event.ApiVersion);
        request.Headers.UserAgent.ParseAdd("Flatpeak-Devices-Webhooks/1");

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(_options.TimeoutSeconds));
        try
        {
            using var response = await clients.CreateClient(WebhookDestinations.HttpClientName)
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var code = (int)response.StatusCode;
            return (code, code is >= 200 and < 300 ? null : await ReadStartAsync(response, timeout.Token));
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return (null, $"No answer within {_options.TimeoutSeconds} s.");
        }
        catch (HttpRequestException e) when (e.InnerException is WebhookDestinationRefusedException refused)
        {
            return (null, "Destination refused: " + refused.Message);
        }
        catch (HttpRequestException e)
        {
            return (null, Shorten(e.Message));
        }
    }

    /// <summary>At most the first KiB of a refusing answer's body, as text.</summary>
    private static async Task<string?> ReadStartAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[WebhookRules.MaxErrorLength];
            var read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
            var text = System.Text.Encoding.UTF8.GetString(buffer, 0, read);
            return text.Length == 0 ? null : Shorten(text);
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException)
        {
            return null;
        }
    }

    private static string Shorten(string text) =>
        new([.. (text.Length > WebhookRules.MaxErrorLength ? text[..WebhookRules.MaxErrorLength] : text).Select(c => char.IsControl(c) ? ' ' : c)]);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery round failed; trying again shortly.")]
    private static partial void RoundFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook delivery {DeliveryId}: the attempt failed inside the service.")]
    private static partial void AttemptFailed(ILogger logger, Exception exception, string deliveryId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId} waited for a free slot in this instance until its lease could run out before its attempt; let go unsent, its claim given back.")]
    private static partial void LetGo(ILogger logger, string deliveryId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recording {Count} webhook attempts failed; their leases will run out and the attempts be made again.")]
    private static partial void RecordingFailed(ILogger logger, Exception exception, int count);
}
