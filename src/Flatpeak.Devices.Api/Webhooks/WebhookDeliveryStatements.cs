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
/// deliveries and claims the first attempts it has room for; instances claim the other due attempts with
/// <c>FOR UPDATE SKIP LOCKED</c>, each with a lease, and record the outcome.
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
    /// writes the row); one whose endpoints are all deleted, not even that. The probe is a lateral <c>LIMIT 1</c>, not
    /// an <c>EXISTS</c>: PostgreSQL may turn an <c>EXISTS</c> into a hash join over every event (measured: 34 ms
    /// against 0.5 ms with 27,000 events).
    /// </summary>
    private const string LockPositions = $"""
        SELECT p.account_id, p.live_mode, p.xact_id, p.event_id
        FROM webhook_feed_positions p
        CROSS JOIN LATERAL (
            SELECT FROM events e
            WHERE e.account_id = p.account_id AND e.live_mode = p.live_mode
              AND (e.xact_id, e.id) > (p.xact_id, p.event_id COLLATE "C") AND e.xact_id < {EventFeed.SettledBelowSql}
            LIMIT 1
        ) next
        WHERE EXISTS (SELECT FROM webhooks w WHERE w.account_id = p.account_id AND w.live_mode = p.live_mode)
        FOR UPDATE OF p SKIP LOCKED
        """;

    /// <summary>
    /// Reads, for each locked position, the next settled events of its account and mode after it (in the feed's order,
    /// so a late commit is never skipped), creates one delivery per enabled endpoint of the event's account and mode
    /// that subscribes to its type, and moves the positions; in the transaction that holds them, so a crash loses
    /// nothing and a reread duplicates nothing. A delivery's <c>time_created</c> is <c>@now</c> (the service's clock,
    /// whole seconds, as every time served) and its id carries that second.
    /// <para>
    /// It reads for each position as many events as the account's roomiest endpoint can take here (so that a backlog
    /// waits in the feed, not as deliveries to claim one statement at a time), at most <c>@max_batch</c>. The
    /// deliveries due now that fit this instance's room (<c>@limit</c> in all, <c>@per_endpoint</c> per endpoint less
    /// <c>@busy_counts</c> held for <c>@busy_ids</c>) are created claimed, as <see cref="Claim"/> leaves them, and
    /// returned with their events, so a first attempt costs no claim. Every row carries whether a position read all it
    /// had room for (read again), whether one read all it took (more is waiting) and how many due deliveries were left
    /// unclaimed; with none claimed, one row carries only those.
    /// </para>
    /// </summary>
    private const string Dispatch = $"""
        WITH busy AS (
            SELECT * FROM unnest(@busy_ids::text[], @busy_counts::int[]) AS b(webhook_id, n)
        ), room AS (
            -- What the account's roomiest enabled endpoint can take here, within this instance's room in all; with none
            -- enabled, as much as a dispatch reads (there is nothing to claim).
            SELECT p.*, (
                SELECT CASE WHEN count(*) = 0 THEN @max_batch ELSE least(@limit, max(@per_endpoint - coalesce(b.n, 0))) END
                FROM webhooks w LEFT JOIN busy b ON b.webhook_id = w.id
                WHERE w.account_id = p.account_id AND w.live_mode = p.live_mode AND w.status = '{WebhookRules.Enabled}') AS room
            FROM unnest(@account_ids::text[], @live_modes::boolean[], @xact_ids::bigint[], @event_ids::text[])
                AS p(account_id, live_mode, xact_id, event_id)
        ), position AS (
            -- How many events to read: the room; with none, @no_room_batch, so that full endpoints do not stop the feed.
            SELECT r.*, CASE WHEN r.room > 0 THEN least(r.room, @max_batch) ELSE @no_room_batch END AS take FROM room r
        ), batch AS (
            SELECT e.account_id, e.live_mode, e.id, e.type, e.object_id, e.data, e.time_created, e.api_version, e.written_at, e.xact_id
            FROM position p
            CROSS JOIN LATERAL (
                SELECT e.account_id, e.live_mode, e.id, e.type, e.object_id, e.data, e.time_created, e.api_version, e.written_at, e.xact_id
                FROM events e
                WHERE e.account_id = p.account_id AND e.live_mode = p.live_mode
                  AND (e.xact_id, e.id) > (p.xact_id, p.event_id COLLATE "C") AND e.xact_id < {EventFeed.SettledBelowSql}
                ORDER BY e.xact_id, e.id
                LIMIT p.take
            ) e
        ), target AS (
            SELECT b.account_id, b.live_mode, b.id AS event_id, b.xact_id, b.time_created, w.id AS webhook_id, w.url
            FROM batch b
            JOIN webhooks w ON w.account_id = b.account_id AND w.live_mode = b.live_mode AND w.status = '{WebhookRules.Enabled}'
                AND (w.enabled_events @> ARRAY[b.type::text] OR w.enabled_events @> ARRAY['{WebhookRules.AllEvents}'])
                AND w.time_created <= b.time_created
            -- An endpoint being deleted (its row locked FOR UPDATE) is waited for, then not found: no orphan deliveries.
            FOR KEY SHARE OF w
        ), placed AS (
            -- Each due one's place in its endpoint's line, counting what this instance holds there.
            SELECT t.account_id, t.live_mode, t.event_id, t.webhook_id, t.xact_id,
                   row_number() OVER (PARTITION BY t.webhook_id ORDER BY t.xact_id, t.event_id)
                     + coalesce((SELECT b.n FROM busy b WHERE b.webhook_id = t.webhook_id), 0) AS place
            FROM target t
            WHERE t.time_created + @first_delay <= now()
        ), claimed AS (
            SELECT p.account_id, p.live_mode, p.event_id, p.webhook_id
            FROM placed p
            WHERE p.place <= @per_endpoint
            ORDER BY p.xact_id, p.event_id
            LIMIT @limit
        ), created AS (
            INSERT INTO webhook_deliveries (
                account_id, live_mode, id, webhook_id, event_id, status, attempts, next_attempt_at, locked_until, first_attempt_at, time_created)
            SELECT t.account_id, t.live_mode,
                   'whd_' || lpad(to_hex(extract(epoch FROM @now)::bigint), 8, '0') || substr(md5(random()::text || t.event_id || t.webhook_id), 1, 16),
                   t.webhook_id, t.event_id, 'pending', CASE WHEN c.event_id IS NULL THEN 0 ELSE 1 END, t.time_created + @first_delay,
                   CASE WHEN c.event_id IS NOT NULL THEN now() + @lease END, CASE WHEN c.event_id IS NOT NULL THEN now() END, @now
            FROM target t
            LEFT JOIN claimed c ON c.account_id = t.account_id AND c.live_mode = t.live_mode AND c.event_id = t.event_id AND c.webhook_id = t.webhook_id
            ON CONFLICT DO NOTHING
            RETURNING account_id, live_mode, id, webhook_id, event_id, attempts, next_attempt_at
        ), last AS (
            SELECT DISTINCT ON (account_id, live_mode) account_id, live_mode, xact_id, id
            FROM batch ORDER BY account_id, live_mode, xact_id DESC, id DESC
        ), moved AS (
            UPDATE webhook_feed_positions p SET xact_id = last.xact_id, event_id = last.id
            FROM last WHERE p.account_id = last.account_id AND p.live_mode = last.live_mode
        ), counts AS (
            SELECT coalesce(bool_or(r.n >= p.take AND p.room > 0), false) AS full, coalesce(bool_or(r.n >= p.take), false) AS behind,
                   (SELECT count(*) FROM created WHERE attempts = 0 AND next_attempt_at <= now())::int AS left_due
            FROM position p
            JOIN (SELECT account_id, live_mode, count(*) AS n FROM batch GROUP BY account_id, live_mode) r
              ON r.account_id = p.account_id AND r.live_mode = p.live_mode
        )
        SELECT n.full, n.behind, n.left_due, c.account_id, c.live_mode, c.id, c.webhook_id, c.attempts, t.url,
               b.id, b.type, b.object_id, b.data, b.time_created, b.api_version, b.written_at
        FROM counts n
        LEFT JOIN created c ON c.attempts = 1
        LEFT JOIN target t ON t.account_id = c.account_id AND t.live_mode = c.live_mode AND t.event_id = c.event_id AND t.webhook_id = c.webhook_id
        LEFT JOIN batch b ON b.account_id = c.account_id AND b.live_mode = c.live_mode AND b.id = c.event_id
        """;

    /// <summary>
    /// Claims due attempts of enabled endpoints, at most <c>@per_endpoint</c> held per endpoint in this instance
    /// (<c>@busy_ids</c> / <c>@busy_counts</c> are what it holds): each is made by one instance, which holds it for the
    /// lease. The due ones are read from the pending queue's index in time order, each endpoint's state looked up per
    /// row, so the read stops at <c>@limit * 2</c> whatever the backlog. Written as a scalar lookup compared with
    /// <c>&lt;&gt; 'disabled'</c>: as an <c>EXISTS</c> or a join with <c>webhooks</c>, PostgreSQL estimated 2 rows of
    /// 44,710 due and read the whole table (32 ms for a claim of 64, against 6 ms).
    /// </summary>
    private const string Claim = $"""
        WITH soonest AS (
            SELECT d.account_id, d.live_mode, d.id, d.webhook_id, d.next_attempt_at
            FROM webhook_deliveries d
            WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND (d.locked_until IS NULL OR d.locked_until < now())
              AND (SELECT w.status FROM webhooks w WHERE w.account_id = d.account_id AND w.live_mode = d.live_mode AND w.id = d.webhook_id)
                  <> '{WebhookRules.Disabled}'
            ORDER BY d.next_attempt_at
            LIMIT @limit * 2
        ), candidates AS (
            -- Each one's place in its endpoint's line, counting what this instance holds there.
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

    /// <summary>
    /// Gives back the claims of attempts let go unsent: due again, the attempt not counted; only where the claim is
    /// still the one given back.
    /// </summary>
    private const string Release = """
        UPDATE webhook_deliveries d
        SET attempts = d.attempts - 1, locked_until = NULL, first_attempt_at = CASE WHEN d.attempts = 1 THEN NULL ELSE d.first_attempt_at END
        FROM unnest(@account_ids, @live_modes, @ids, @attempts) AS r(account_id, live_mode, id, attempts)
        WHERE d.account_id = r.account_id AND d.live_mode = r.live_mode AND d.id = r.id
          AND d.attempts = r.attempts AND d.locked_until IS NOT NULL
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

    /// <summary>
    /// Dispatches every position no other instance holds, claiming the first attempts that fit <paramref name="room"/>
    /// (see <see cref="Dispatch"/>): per position at most <paramref name="maxBatch"/> events, and
    /// <paramref name="noRoomBatch"/> when no endpoint of its account has room.
    /// </summary>
    public static async Task<Dispatched> DispatchAsync(
        DevicesDbContext db, int maxBatch, int noRoomBatch, TimeSpan firstDelay, DateTimeOffset now, AttemptRoom room, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var connection = (NpgsqlConnection)db.Database.GetDbConnection();
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            List<string> accountIds = [], eventIds = [];
            List<bool> liveModes = [];
            List<long> xactIds = [];
            // The dispatch runs on its generic plan: planned for its parameters it cost as much again as it ran (2.3 ms a
            // call, measured with pg_stat_statements' track_planning), over the events' monthly partitions.
            await using (var positions = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands = { new NpgsqlBatchCommand(PlanCache.ForceGenericPlan), new NpgsqlBatchCommand(LockPositions) },
            })
            await using (var reader = await positions.ExecuteReaderAsync(cancellationToken))
            {
                await reader.NextResultAsync(cancellationToken);
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
                return new(false, false, 0, []);
            }

            await using var dispatch = new NpgsqlCommand(Dispatch, connection, transaction);
            dispatch.Parameters.Add(Parameter("account_ids", accountIds.ToArray()));
            dispatch.Parameters.Add(Parameter("live_modes", liveModes.ToArray()));
            dispatch.Parameters.Add(Parameter("xact_ids", xactIds.ToArray()));
            dispatch.Parameters.Add(Parameter("event_ids", eventIds.ToArray()));
            dispatch.Parameters.Add(Parameter("max_batch", maxBatch));
            dispatch.Parameters.Add(Parameter("no_room_batch", noRoomBatch));
            dispatch.Parameters.Add(Parameter("first_delay", firstDelay));
            dispatch.Parameters.Add(Parameter("now", now));
            dispatch.Parameters.AddRange(room.Parameters());
            var (full, behind, leftDue) = (false, false, 0);
            var claimed = new List<ClaimedAttempt>();
            await using (var reader = await dispatch.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    (full, behind, leftDue) = (reader.GetBoolean(0), reader.GetBoolean(1), reader.GetInt32(2));
                    if (!reader.IsDBNull(3))
                    {
                        claimed.Add(ReadAttempt(reader, 3));
                    }
                }
            }

            await transaction.CommitAsync(cancellationToken);
            return new(full, behind, leftDue, claimed);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>Claims due attempts that fit <paramref name="room"/> (see <see cref="Claim"/>).</summary>
    public static Task<List<ClaimedAttempt>> ClaimAsync(DevicesDbContext db, AttemptRoom room, CancellationToken cancellationToken) =>
        RunAsync(db, Claim, room.Parameters(), async command =>
        {
            var claimed = new List<ClaimedAttempt>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                claimed.Add(ReadAttempt(reader, 0));
            }

            return claimed;
        });

    /// <summary>A claimed attempt from its row, from column <paramref name="first"/> on: the delivery, its endpoint's url, then its event.</summary>
    private static ClaimedAttempt ReadAttempt(NpgsqlDataReader reader, int first)
    {
        var accountId = reader.GetString(first);
        var liveMode = reader.GetBoolean(first + 1);
        return new ClaimedAttempt(
            accountId, liveMode, reader.GetString(first + 2), reader.GetString(first + 3), reader.GetInt32(first + 4), reader.GetString(first + 5),
            new ApiEvent
            {
                AccountId = accountId,
                LiveMode = liveMode,
                Id = reader.GetString(first + 6),
                Type = reader.GetString(first + 7),
                ObjectId = reader.GetString(first + 8),
                Data = reader.GetString(first + 9),
                TimeCreated = reader.GetFieldValue<DateTimeOffset>(first + 10),
                ApiVersion = reader.GetString(first + 11),
                WrittenAt = reader.GetFieldValue<DateTimeOffset>(first + 12),
            });
    }

    /// <summary>
    /// What an instance may take on: at most <paramref name="Limit"/> attempts, and per endpoint
    /// <paramref name="PerEndpoint"/> less what it holds there (<paramref name="BusyIds"/> / <paramref name="BusyCounts"/>);
    /// each held for <paramref name="Lease"/>.
    /// </summary>
    public sealed record AttemptRoom(string[] BusyIds, int[] BusyCounts, int PerEndpoint, int Limit, TimeSpan Lease)
    {
        internal DbParameter[] Parameters() =>
        [
            Parameter("busy_ids", BusyIds), Parameter("busy_counts", BusyCounts), Parameter("per_endpoint", PerEndpoint),
            Parameter("limit", Limit), Parameter("lease", Lease),
        ];
    }

    /// <summary>
    /// A dispatch's result: whether a position read all it had room for (read again), whether one read all it took (more
    /// is waiting), the due deliveries it left unclaimed, and those it claimed.
    /// </summary>
    public sealed record Dispatched(bool Full, bool Behind, int LeftDue, List<ClaimedAttempt> Claimed);

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

    public static Task ReleaseAsync(DevicesDbContext db, IReadOnlyList<ClaimedAttempt> letGo, CancellationToken cancellationToken) =>
        RunAsync(db, Release,
            [
                Parameter("account_ids", letGo.Select(a => a.AccountId).ToArray()),
                Parameter("live_modes", letGo.Select(a => a.LiveMode).ToArray()),
                Parameter("ids", letGo.Select(a => a.Id).ToArray()),
                Parameter("attempts", letGo.Select(a => a.Attempts).ToArray()),
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
