using Flatpeak.Devices.Api.Data.Batching;
using Npgsql;
using NpgsqlTypes;
using static Flatpeak.Devices.Api.Data.Batching.BatchParameters;

namespace Flatpeak.Devices.Api.DeviceStates;

/// <summary>
/// A state record to store; the hash of its fields (a replayed <c>record_reference_id</c> must carry the same); and its
/// answer if stored, which the request's Idempotency-Key (if any) replays from the same commit.
/// </summary>
public sealed record DeviceStateSubmission(DeviceState State, byte[] RequestHash, string ResponseJson, string? IdempotencyKey);

/// <summary>What became of a submission.</summary>
/// <param name="Result">One of the <c>DeviceStateOutcome.*</c> names.</param>
/// <param name="Id">The record the answer names: the new one, or the first with its <c>record_reference_id</c>.</param>
/// <param name="TimeCreated">When that record was stored.</param>
public sealed record DeviceStateOutcome(string Result, string? Id, DateTimeOffset? TimeCreated)
{
    public const string Created = "created";
    public const string Replayed = "replayed";
    public const string Reused = "reused";
    public const string DeviceNotFound = "device_not_found";
    public const string LocationNotFound = "location_not_found";
    /// <summary>Another transaction stored the same <c>record_reference_id</c> while this statement ran: look it up.</summary>
    public const string Raced = "raced";
}

/// <summary>
/// State submissions, many per statement (<see cref="WriteBatcher{TItem, TOutcome}"/>). One statement finds each
/// device (of its own account and mode, <c>FOR KEY SHARE</c> against a delete) and checks its <c>location_id</c>,
/// finds a <c>record_reference_id</c> used before, claims the new ones (<c>ON CONFLICT DO NOTHING</c>: of two
/// submissions with one reference, in one batch or two, one wins), stores the records, and moves each device's
/// <c>last_seen</c> forward, at most once a minute, and stores each new record's answer as its Idempotency-Key's replay.
/// It returns one outcome per submission. No events: telemetry is not a
/// change of the device. Rows two statements may both write are taken in key order (references inserted, devices locked
/// for <c>last_seen</c>), so two batches never wait on each other in a cycle.
/// </summary>
public sealed class DeviceStateWrites : IBatchedWrite<DeviceStateSubmission, DeviceStateOutcome>
{
    public string Kind => "device_state.submit";

    public const string Statement = """
        WITH submitted AS (
            SELECT * FROM unnest(
                @account_id::text[], @live_mode::boolean[], @device_id::text[], @time::timestamptz[], @id::text[],
                @state_of_charge_percent::double precision[], @target_state_of_charge_percent::double precision[],
                @battery_power_kw::double precision[], @energy_remaining_kwh::double precision[], @backup_reserve_percent::double precision[],
                @energy_flow_direction::text[], @record_reference_id::text[], @location_id::text[], @time_created::timestamptz[],
                @request_hash::bytea[], @response::text[], @idempotency_key::text[])
            WITH ORDINALITY AS s(
                account_id, live_mode, device_id, time, id,
                state_of_charge_percent, target_state_of_charge_percent,
                battery_power_kw, energy_remaining_kwh, backup_reserve_percent,
                energy_flow_direction, record_reference_id, location_id, time_created,
                request_hash, response, idempotency_key, request)
        ), device AS (
            SELECT s.request, (s.location_id IS NULL OR s.location_id = ANY (d.locations)) AS located
            FROM submitted s
            JOIN devices d ON d.account_id = s.account_id AND d.live_mode = s.live_mode AND d.id = s.device_id
            FOR KEY SHARE OF d
        ), earlier AS (
            SELECT s.request, r.state_id, r.request_hash, r.time_created
            FROM submitted s
            JOIN device_state_references r
              ON r.account_id = s.account_id AND r.live_mode = s.live_mode AND r.device_id = s.device_id
             AND r.record_reference_id = s.record_reference_id
        ), accepted AS (
            SELECT s.* FROM submitted s
            JOIN device d ON d.request = s.request AND d.located
            WHERE NOT EXISTS (SELECT FROM earlier e WHERE e.request = s.request)
        ), referenced AS (
            INSERT INTO device_state_references (account_id, live_mode, device_id, record_reference_id, state_id, state_time, request_hash, time_created)
            SELECT a.account_id, a.live_mode, a.device_id, a.record_reference_id, a.id, a.time, a.request_hash, a.time_created
            FROM accepted a WHERE a.record_reference_id IS NOT NULL
            ORDER BY a.account_id, a.live_mode, a.device_id, a.record_reference_id
            ON CONFLICT DO NOTHING
            RETURNING account_id, live_mode, device_id, record_reference_id, state_id, request_hash, time_created
        ), stored AS (
            INSERT INTO device_states (
                account_id, live_mode, device_id, time, id,
                state_of_charge_percent, target_state_of_charge_percent,
                battery_power_kw, energy_remaining_kwh, backup_reserve_percent,
                energy_flow_direction, record_reference_id, location_id, time_created)
            SELECT
                a.account_id, a.live_mode, a.device_id, a.time, a.id,
                a.state_of_charge_percent, a.target_state_of_charge_percent,
                a.battery_power_kw, a.energy_remaining_kwh, a.backup_reserve_percent,
                a.energy_flow_direction, a.record_reference_id, a.location_id, a.time_created
            FROM accepted a
            WHERE a.record_reference_id IS NULL OR EXISTS (SELECT FROM referenced r WHERE r.state_id = a.id)
            RETURNING id, account_id, live_mode, device_id, time_created
        ), due AS (
            SELECT d.account_id, d.live_mode, d.id, x.seen
            FROM devices d
            JOIN (SELECT account_id, live_mode, device_id, max(time_created) AS seen FROM stored GROUP BY account_id, live_mode, device_id) x
              ON d.account_id = x.account_id AND d.live_mode = x.live_mode AND d.id = x.device_id
            WHERE d.last_seen IS NULL OR d.last_seen <= x.seen - interval '1 minute'
            ORDER BY d.account_id, d.live_mode, d.id
            FOR NO KEY UPDATE OF d
        ), seen AS (
            UPDATE devices d SET last_seen = due.seen
            FROM due
            WHERE d.account_id = due.account_id AND d.live_mode = due.live_mode AND d.id = due.id
        ), replay AS (
            UPDATE idempotency_keys k
            SET response_status = 200, response_body = s.response, response_location = NULL
            FROM stored st JOIN submitted s ON s.id = st.id
            WHERE k.account_id = s.account_id AND k.live_mode = s.live_mode AND k.key = s.idempotency_key
        )
        SELECT s.request,
               CASE WHEN d.request IS NULL THEN 'device_not_found'
                    WHEN NOT d.located THEN 'location_not_found'
                    WHEN st.id IS NOT NULL THEN 'created'
                    WHEN coalesce(e.request_hash, w.request_hash) = s.request_hash THEN 'replayed'
                    WHEN coalesce(e.request_hash, w.request_hash) IS NOT NULL THEN 'reused'
                    ELSE 'raced' END,
               coalesce(st.id, e.state_id, w.state_id),
               coalesce(st.time_created, e.time_created, w.time_created)
        FROM submitted s
        LEFT JOIN device d ON d.request = s.request
        LEFT JOIN stored st ON st.id = s.id
        LEFT JOIN earlier e ON e.request = s.request
        LEFT JOIN referenced w
          ON st.id IS NULL AND w.account_id = s.account_id AND w.live_mode = s.live_mode AND w.device_id = s.device_id
         AND w.record_reference_id = s.record_reference_id
        """;

    /// <summary>Which of the submissions are stored: their records, by id and time.</summary>
    public const string StoredStatement = """
        SELECT st.id, st.time_created FROM device_states st
        JOIN unnest(@account_id::text[], @live_mode::boolean[], @device_id::text[], @time::timestamptz[], @id::text[])
          AS w(account_id, live_mode, device_id, time, id)
          ON st.account_id = w.account_id AND st.live_mode = w.live_mode AND st.device_id = w.device_id AND st.time = w.time AND st.id = w.id
        """;

    public async Task<DeviceStateOutcome[]> WriteAsync(NpgsqlConnection connection, IReadOnlyList<DeviceStateSubmission> items, CancellationToken cancellationToken)
    {
        var states = items.Select(i => i.State).ToArray();
        await using var command = new NpgsqlCommand(Statement, connection);
        command.Parameters.AddRange(KeyColumns(states));
        command.Parameters.AddRange(new[]
            {
                Column("state_of_charge_percent", NpgsqlDbType.Double, states, s => s.StateOfChargePercent),
                Column("target_state_of_charge_percent", NpgsqlDbType.Double, states, s => s.TargetStateOfChargePercent),
                Column("battery_power_kw", NpgsqlDbType.Double, states, s => s.BatteryPowerKw),
                Column("energy_remaining_kwh", NpgsqlDbType.Double, states, s => s.EnergyRemainingKwh),
                Column("backup_reserve_percent", NpgsqlDbType.Double, states, s => s.BackupReservePercent),
                Column("energy_flow_direction", NpgsqlDbType.Text, states, s => s.EnergyFlowDirection),
                Column("record_reference_id", NpgsqlDbType.Text, states, s => s.RecordReferenceId),
                Column("location_id", NpgsqlDbType.Text, states, s => s.LocationId),
                Column("time_created", NpgsqlDbType.TimestampTz, states, s => s.TimeCreated),
                Column("request_hash", NpgsqlDbType.Bytea, items, i => i.RequestHash),
                Column("response", NpgsqlDbType.Text, items, i => i.ResponseJson),
                Column("idempotency_key", NpgsqlDbType.Text, items, i => i.IdempotencyKey),
            });
        var outcomes = new DeviceStateOutcome[items.Count];
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            outcomes[reader.GetInt64(0) - 1] = new DeviceStateOutcome(
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3));
        }

        return outcomes;
    }

    public async Task<DeviceStateOutcome?[]> FindStoredAsync(NpgsqlConnection connection, IReadOnlyList<DeviceStateSubmission> items, CancellationToken cancellationToken)
    {
        var states = items.Select(i => i.State).ToArray();
        await using var command = new NpgsqlCommand(StoredStatement, connection);
        command.Parameters.AddRange(KeyColumns(states));
        var stored = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            stored[reader.GetString(0)] = reader.GetFieldValue<DateTimeOffset>(1);
        }

        return [.. states.Select(s => stored.TryGetValue(s.Id, out var created) ? new DeviceStateOutcome(DeviceStateOutcome.Created, s.Id, created) : null)];
    }

    /// <summary>A record's key (account, mode, device, time, id), the columns both statements take first.</summary>
    private static NpgsqlParameter[] KeyColumns(DeviceState[] states) =>
    [
        Column("account_id", NpgsqlDbType.Text, states, s => s.AccountId),
        Column("live_mode", NpgsqlDbType.Boolean, states, s => s.LiveMode),
        Column("device_id", NpgsqlDbType.Text, states, s => s.DeviceId),
        Column("time", NpgsqlDbType.TimestampTz, states, s => s.Time),
        Column("id", NpgsqlDbType.Text, states, s => s.Id),
    ];
}
