using System.Data.Common;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Events;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace Flatpeak.Devices.Api.Webhooks;

/// <summary>An attempt claimed from the queue: the delivery, where it goes, and the event to send.</summary>
public sealed record ClaimedAttempt(
    string AccountId, bool LiveMode, string Id, string WebhookId, int Attempts, string Url, ApiEvent Event);

/// <summary>
/// The SQL of webhook delivery, in one place. PostgreSQL is the queue: the dispatcher turns the event feed into
/// deliveries, instances claim due attempts with <c>FOR UPDATE SKIP LOCKED</c> and a lease, and record the outcome.
/// </summary>
public static class WebhookDeliveryStatements
{
    /// <summary>
    /// Starts an account's feed position in a mode at the end of what is settled now: every event of a transaction
    /// that ended is behind it, every one still to commit ahead of it (and an endpoint only receives events from its
    /// own creation on). Run in the transaction that creates endpoint <c>@webhook_id</c>: a position already there is
    /// kept while the account has another endpoint in the mode, and moved here when it has none (it stood still since
    /// the last one went).
    /// </summary>
    private const string StartPosition = $"""
        INSERT INTO webhook_feed_positions AS p (account_id, live_mode, xact_id, event_id)
        VALUES (@account_id, @live_mode, {EventFeed.SettledBelowSql}, '')
        ON CONFLICT (account_id, live_mode) DO UPDATE SET xact_id = excluded.xact_id, event_id = excluded.event_id
        WHERE NOT EXISTS (
            SELECT FROM webhooks w WHERE w.account_id = p.account_id AND w.live_mode = p.live_mode AND w.id <> @webhook_id)
        """;

    /// <summary>
    /// The positions of accounts with endpoints in the mode and settled events after them, locked for this transaction;
    /// those another instance is dispatching are skipped. An idle account costs an index probe and no lock (a lock
    /// writes the row); one whose endpoints are all deleted, not even that.
    /// </summary>
    private const string LockPositions = $"""
        SELECT p.account_id, p.live_mode, p.xact_id, p.event_id
        FROM webhook_feed_positions p
        WHERE EXISTS (SELECT FROM webhooks w WHERE w.account_id = p.account_id AND w.live_mode = p.live_mode)
          AND EXISTS (
            SELECT FROM events e
            WHERE e.account_id = p.account_id AND e.live_mode = p.live_mode
              AND (e.xact_id, e.id) > (p.xact_id, p.event_id) AND e.xact_id < {EventFeed.SettledBelowSql})
        FOR UPDATE OF p SKIP LOCKED
        """;

    /// <summary>
    /// Reads, for each locked position, the next settled events of its account and mode after it (in the feed's order,
    /// so a late commit is never skipped), creates one delivery per enabled endpoint of the event's account and mode
    /// that subscribes to its type, and moves the positions; in the transaction that holds them, so a crash loses
    /// nothing and a reread duplicates nothing. Returns the most events read for one position. A delivery's
    /// <c>time_created</c> is <c>@now</c> (the service's clock, whole seconds, as every time served) and its id carries that second.
    /// </summary>
    private const string Dispatch = $"""
        WITH position AS (
            SELECT * FROM unnest(@account_ids::text[], @live_modes::boolean[], @xact_ids::bigint[], @event_ids::text[])
                AS p(account_id, live_mode, xact_id, event_id)
        ), batch AS (
            SELECT e.account_id, e.live_mode, e.id, e.type, e.time_created, e.xact_id
            FROM position p
            CROSS JOIN LATERAL (
                SELECT e.account_id, e.live_mode, e.id, e.type, e.time_created, e.xact_id
                FROM events e
                WHERE e.account_id = p.account_id AND e.live_mode = p.live_mode
                  AND (e.xact_id, e.id) > (p.xact_id, p.event_id COLLATE "C") AND e.xact_id < {EventFeed.SettledBelowSql}
                ORDER BY e.xact_id, e.id
                LIMIT @batch
            ) e
        ), created AS (
            INSERT INTO webhook_deliveries (account_id, live_mode, id, webhook_id, event_id, status, attempts, next_attempt_at, time_created)
            SELECT b.account_id, b.live_mode,
                   'whd_' || lpad(to_hex(extract(epoch FROM @now)::bigint), 8, '0') || substr(md5(random()::text || b.id || w.id), 1, 16),
                   w.id, b.id, 'pending', 0, b.time_created + @first_delay, @now
            FROM batch b
            JOIN webhooks w ON w.account_id = b.account_id AND w.live_mode = b.live_mode AND w.status = 'enabled'
                AND (w.enabled_events @> ARRAY[b.type::text] OR w.enabled_events @> ARRAY['{WebhookRules.AllEvents}'])
                AND w.time_created <= b.time_created
            -- An endpoint being deleted (its row locked FOR UPDATE) is waited for, then not found: no orphan deliveries.
            FOR KEY SHARE OF w
            ON CONFLICT DO NOTHING
        ), last AS (
            SELECT DISTINCT ON (account_id, live_mode) account_id, live_mode, xact_id, id
            FROM batch ORDER BY account_id, live_mode, xact_id DESC, id DESC
        ), moved AS (
            UPDATE webhook_feed_positions p SET xact_id = last.xact_id, event_id = last.id
            FROM last WHERE p.account_id = last.account_id AND p.live_mode = last.live_mode
        )
        SELECT coalesce(max(n), 0)::int FROM (SELECT count(*) AS n FROM batch GROUP BY account_id, live_mode) read
        """;

    /// <summary>
    /// Claims due attempts of enabled endpoints, at most <c>@per_endpoint</c> in flight per endpoint in this instance
    /// (<c>@busy_ids</c> / <c>@busy_counts</c> are what it has in flight): each is made by one instance, which holds it for the lease.
    /// </summary>
    private const string Claim = """
        WITH soonest AS (
            SELECT d.account_id, d.live_mode, d.id, d.webhook_id, d.next_attempt_at
            FROM webhook_deliveries d
            JOIN webhooks w ON w.account_id = d.account_id AND w.live_mode = d.live_mode AND w.id = d.webhook_id AND w.status = 'enabled'
            WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND (d.locked_until IS NULL OR d.locked_until < now())
            ORDER BY d.next_attempt_at
            LIMIT @limit * 4
        ), candidates AS (
            -- Each one's place in its endpoint's line, counting what this instance has in flight there.
            SELECT s.account_id, s.live_mode, s.id,
                   row_number() OVER (PARTITION BY s.webhook_id ORDER BY s.next_attempt_at)
                     + coalesce((SELECT b.n FROM unnest(@busy_ids, @busy_counts) AS b(webhook_id, n) WHERE b.webhook_id = s.webhook_id), 0) AS place
            FROM soonest s
        ), due AS (
            SELECT d.account_id, d.live_mode, d.id
            FROM webhook_deliveries d
            JOIN candidates c ON c.account_id = d.account_id AND c.live_mode = d.live_mode AND c.id = d.id
            WHERE c.place <= @per_endpoint AND d.status = 'pending' AND (d.locked_until IS NULL OR d.locked_until < now())
            ORDER BY d.next_attempt_at
            LIMIT @limit
            FOR UPDATE OF d SKIP LOCKED
        )
        UPDATE webhook_deliveries d
        SET attempts = d.attempts + 1, locked_until = now() + @lease, first_attempt_at = coalesce(d.first_attempt_at, now())
        FROM due, webhooks w, events e
        WHERE d.account_id = due.account_id AND d.live_mode = due.live_mode AND d.id = due.id
          AND w.account_id = d.account_id AND w.live_mode = d.live_mode AND w.id = d.webhook_id
          AND e.account_id = d.account_id AND e.live_mode = d.live_mode AND e.id = d.event_id
        RETURNING d.account_id, d.live_mode, d.id, d.webhook_id, d.attempts, w.url,
                  e.id, e.type, e.object_id, e.data, e.time_created, e.api_version, e.written_at
        """;

    /// <summary>Records the outcomes of many attempts in one statement.</summary>
    private const string Record = """
        UPDATE webhook_deliveries d
        SET status = r.status, last_status_code = r.code, last_error = r.error, next_attempt_at = r.next, locked_until = NULL
        FROM unnest(@account_ids, @live_modes, @ids, @attempts, @statuses, @codes, @errors, @nexts) AS r(account_id, live_mode, id, attempts, status, code, error, next)
        WHERE d.account_id = r.account_id AND d.live_mode = r.live_mode AND d.id = r.id
          -- Only the attempt that holds the claim: not one whose lease ran out and was claimed again meanwhile.
          AND d.attempts = r.attempts AND d.locked_until IS NOT NULL
        """;

    /// <summary>Starts the feed position of an account and mode (see <see cref="StartPosition"/>), in the caller's transaction.</summary>
    public static Task StartPositionAsync(DevicesDbContext db, string accountId, bool liveMode, string webhookId, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlRawAsync(
            StartPosition, [Parameter("account_id", accountId), Parameter("live_mode", liveMode), Parameter("webhook_id", webhookId)], cancellationToken);

    /// <summary>Dispatches every position no other instance holds; returns the most events read for one (a full batch: read again).</summary>
    public static async Task<int> DispatchAsync(DevicesDbContext db, int batch, TimeSpan firstDelay, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var connection = (NpgsqlConnection)db.Database.GetDbConnection();
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            List<string> accountIds = [], eventIds = [];
            List<bool> liveModes = [];
            List<long> xactIds = [];
            await using (var positions = new NpgsqlCommand(LockPositions, connection, transaction))
            await using (var reader = await positions.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    accountIds.Add(reader.GetString(0));
                    liveModes.Add(reader.GetBoolean(1));
                    xactIds.Add(reader.GetInt64(2));
                    eventIds.Add(reader.GetString(3));
                }
            }

            if (accountIds.Count == 0)
            {
                return 0;
            }

            await using var dispatch = new NpgsqlCommand(Dispatch, connection, transaction);
            dispatch.Parameters.Add(Parameter("account_ids", accountIds.ToArray()));
            dispatch.Parameters.Add(Parameter("live_modes", liveModes.ToArray()));
            dispatch.Parameters.Add(Parameter("xact_ids", xactIds.ToArray()));
            dispatch.Parameters.Add(Parameter("event_ids", eventIds.ToArray()));
            dispatch.Parameters.Add(Parameter("batch", batch));
            dispatch.Parameters.Add(Parameter("first_delay", firstDelay));
            dispatch.Parameters.Add(Parameter("now", now));
            var read = (int)(await dispatch.ExecuteScalarAsync(cancellationToken))!;
            await transaction.CommitAsync(cancellationToken);
            return read;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    public static Task<List<ClaimedAttempt>> ClaimAsync(
        DevicesDbContext db, string[] busyIds, int[] busyCounts, int perEndpoint, int limit, TimeSpan lease, CancellationToken cancellationToken) =>
        RunAsync(db, Claim,
            [
                Parameter("busy_ids", busyIds), Parameter("busy_counts", busyCounts), Parameter("per_endpoint", perEndpoint),
                Parameter("limit", limit), Parameter("lease", lease),
            ],
            async command =>
        {
            var claimed = new List<ClaimedAttempt>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var accountId = reader.GetString(0);
                var liveMode = reader.GetBoolean(1);
                claimed.Add(new ClaimedAttempt(
                    accountId, liveMode, reader.GetString(2), reader.GetString(3), reader.GetInt32(4), reader.GetString(5),
                    new ApiEvent
                    {
                        AccountId = accountId,
                        LiveMode = liveMode,
                        Id = reader.GetString(6),
                        Type = reader.GetString(7),
                        ObjectId = reader.GetString(8),
                        Data = reader.GetString(9),
                        TimeCreated = reader.GetFieldValue<DateTimeOffset>(10),
                        ApiVersion = reader.GetString(11),
                        WrittenAt = reader.GetFieldValue<DateTimeOffset>(12),
                    }));
            }

            return claimed;
        });

    /// <summary>An attempt's outcome: its status after it, the answer's status code or a short error, and when the next attempt is due.</summary>
    public sealed record Outcome(ClaimedAttempt Attempt, string Status, int? Code, string? Error, DateTimeOffset? Next);

    public static Task RecordAsync(DevicesDbContext db, IReadOnlyList<Outcome> outcomes, CancellationToken cancellationToken) =>
        RunAsync(db, Record,
            [
                Parameter("account_ids", outcomes.Select(o => o.Attempt.AccountId).ToArray()),
                Parameter("live_modes", outcomes.Select(o => o.Attempt.LiveMode).ToArray()),
                Parameter("ids", outcomes.Select(o => o.Attempt.Id).ToArray()),
                Parameter("attempts", outcomes.Select(o => o.Attempt.Attempts).ToArray()),
                Parameter("statuses", outcomes.Select(o => o.Status).ToArray()),
                Parameter("codes", outcomes.Select(o => o.Code).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Integer),
                Parameter("errors", outcomes.Select(o => o.Error).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text),
                Parameter("nexts", outcomes.Select(o => o.Next).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.TimestampTz),
            ],
            c => c.ExecuteNonQueryAsync(cancellationToken));

    private static async Task<T> RunAsync<T>(DevicesDbContext db, string sql, DbParameter[] parameters, Func<NpgsqlCommand, Task<T>> run)
    {
        await db.Database.OpenConnectionAsync();
        try
        {
            await using var command = new NpgsqlCommand(sql, (NpgsqlConnection)db.Database.GetDbConnection());
            command.Parameters.AddRange(parameters);
            return await run(command);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private static NpgsqlParameter Parameter(string name, object? value, NpgsqlDbType? type = null)
    {
        var parameter = new NpgsqlParameter(name, value ?? DBNull.Value);
        if (type is { } t)
        {
            parameter.NpgsqlDbType = t;
        }

        return parameter;
    }
}
