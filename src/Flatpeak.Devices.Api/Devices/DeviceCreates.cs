using Flatpeak.Devices.Api.Data.Batching;
using Npgsql;
using NpgsqlTypes;
using static Flatpeak.Devices.Api.Data.Batching.BatchParameters;

namespace Flatpeak.Devices.Api.Devices;

/// <summary>A device to create: the entity, its answer (also its event's data and its Idempotency-Key's replay), and its event's id.</summary>
public sealed record DeviceCreate(Device Device, string ResponseJson, string EventId, string ResponseLocation, string? IdempotencyKey);

/// <summary>Created, or refused because the location at <see cref="MissingLocation"/> (an index into its locations) is not one of the account and mode.</summary>
public sealed record DeviceCreateOutcome(int? MissingLocation)
{
    public static readonly DeviceCreateOutcome Created = new((int?)null);
}

/// <summary>
/// Device creates, many per statement (<see cref="WriteBatcher{TItem, TOutcome}"/>). One statement checks each
/// device's locations against its own account and mode, inserts the devices whose locations are all found, their
/// <c>device_locations</c> rows, their events, and the replays of those that carry an Idempotency-Key; it returns the
/// devices refused, each with the index of its first location not found. The foreign key from
/// <c>device_locations</c> to <c>locations</c> guarantees the reference; the check names the missing location, and
/// locks the found ones <c>FOR KEY SHARE</c> (the lock the foreign key takes anyway), so that a location deleted
/// meanwhile is refused for its own device only: the check waits for the delete and then does not find it, instead of
/// the foreign key failing the whole statement.
/// </summary>
public sealed class DeviceCreates : IBatchedWrite<DeviceCreate, DeviceCreateOutcome>
{
    public string Kind => DeviceEndpoints.Kind.CreateEvent;

    public const string Statement = """
        WITH new_device AS (
            SELECT * FROM unnest(
                @account_id::text[], @live_mode::boolean[], @id::text[], @reference_id::text[], @type::text[],
                @manufacturer::text[], @model_code::text[], @model_name::text[],
                @power_rating_import_kwh::double precision[], @capacity_kwh::double precision[], @power_rating_export_kwh::double precision[],
                @pv_azimuth::double precision[], @pv_tilt::double precision[], @pv_terrain_shading::boolean[], @pv_forecasts_enabled::boolean[],
                @install_date::timestamptz[], @time_created::timestamptz[],
                @event_id::text[], @response::text[], @response_location::text[], @idempotency_key::text[])
            WITH ORDINALITY AS d(
                account_id, live_mode, id, reference_id, type,
                manufacturer, model_code, model_name,
                power_rating_import_kwh, capacity_kwh, power_rating_export_kwh,
                pv_azimuth, pv_tilt, pv_terrain_shading, pv_forecasts_enabled,
                install_date, time_created,
                event_id, response, response_location, idempotency_key, request)
        ), wanted AS (
            SELECT * FROM unnest(@location_request::bigint[], @location_index::int[], @location_id::text[]) AS w(request, index, location_id)
        ), found AS (
            SELECT w.request, w.location_id
            FROM wanted w
            JOIN new_device d ON d.request = w.request
            JOIN locations l ON l.account_id = d.account_id AND l.live_mode = d.live_mode AND l.id = w.location_id
            FOR KEY SHARE OF l
        ), missing AS (
            SELECT w.request, min(w.index) AS index
            FROM wanted w
            WHERE NOT EXISTS (SELECT FROM found f WHERE f.request = w.request AND f.location_id = w.location_id)
            GROUP BY w.request
        ), created AS (
            INSERT INTO devices (
                account_id, live_mode, id, reference_id, type, locations,
                manufacturer, model_code, model_name,
                power_rating_import_kwh, capacity_kwh, power_rating_export_kwh,
                pv_azimuth, pv_tilt, pv_terrain_shading, pv_forecasts_enabled,
                install_date, last_seen, time_created)
            SELECT
                d.account_id, d.live_mode, d.id, d.reference_id, d.type,
                ARRAY(SELECT w.location_id FROM wanted w WHERE w.request = d.request ORDER BY w.index),
                d.manufacturer, d.model_code, d.model_name,
                d.power_rating_import_kwh, d.capacity_kwh, d.power_rating_export_kwh,
                d.pv_azimuth, d.pv_tilt, d.pv_terrain_shading, d.pv_forecasts_enabled,
                d.install_date, NULL, d.time_created
            FROM new_device d
            WHERE NOT EXISTS (SELECT FROM missing m WHERE m.request = d.request)
            RETURNING account_id, live_mode, id
        ), located AS (
            INSERT INTO device_locations (account_id, live_mode, location_id, device_id)
            SELECT c.account_id, c.live_mode, w.location_id, c.id
            FROM created c JOIN new_device d ON d.id = c.id JOIN wanted w ON w.request = d.request
        ), change_event AS (
            INSERT INTO events (account_id, live_mode, id, type, object_id, data, time_created)
            SELECT c.account_id, c.live_mode, d.event_id, @event_type, c.id, d.response::json, d.time_created
            FROM created c JOIN new_device d ON d.id = c.id
        ), replay AS (
            UPDATE idempotency_keys k
            SET response_status = 201, response_body = d.response, response_location = d.response_location
            FROM created c JOIN new_device d ON d.id = c.id
            WHERE k.account_id = c.account_id AND k.live_mode = c.live_mode AND k.key = d.idempotency_key
        )
        SELECT request, index FROM missing
        """;

    /// <summary>Which of the devices are stored: their create events, by id (an event is written only with its device).</summary>
    public const string StoredStatement = """
        SELECT e.id FROM events e
        JOIN unnest(@account_id::text[], @live_mode::boolean[], @event_id::text[]) AS w(account_id, live_mode, event_id)
          ON e.account_id = w.account_id AND e.live_mode = w.live_mode AND e.id = w.event_id
        """;

    public async Task<DeviceCreateOutcome[]> WriteAsync(NpgsqlConnection connection, IReadOnlyList<DeviceCreate> items, CancellationToken cancellationToken)
    {
        var devices = items.Select(i => i.Device).ToArray();
        var locations = devices
            .SelectMany((device, request) => device.LocationIds.Select((id, index) => (Request: (long)request + 1, Index: index, Id: id)))
            .ToArray();
        await using var command = new NpgsqlCommand(Statement, connection)
        {
            Parameters =
            {
                new NpgsqlParameter("event_type", NpgsqlDbType.Text) { Value = Kind },
                Column("account_id", NpgsqlDbType.Text, devices, d => d.AccountId),
                Column("live_mode", NpgsqlDbType.Boolean, devices, d => d.LiveMode),
                Column("id", NpgsqlDbType.Text, devices, d => d.Id),
                Column("reference_id", NpgsqlDbType.Text, devices, d => d.ReferenceId),
                Column("type", NpgsqlDbType.Text, devices, d => d.Type),
                Column("manufacturer", NpgsqlDbType.Text, devices, d => d.Manufacturer),
                Column("model_code", NpgsqlDbType.Text, devices, d => d.ModelCode),
                Column("model_name", NpgsqlDbType.Text, devices, d => d.ModelName),
                Column("power_rating_import_kwh", NpgsqlDbType.Double, devices, d => d.PowerRatingImportKwh),
                Column("capacity_kwh", NpgsqlDbType.Double, devices, d => d.CapacityKwh),
                Column("power_rating_export_kwh", NpgsqlDbType.Double, devices, d => d.PowerRatingExportKwh),
                Column("pv_azimuth", NpgsqlDbType.Double, devices, d => d.PvAzimuth),
                Column("pv_tilt", NpgsqlDbType.Double, devices, d => d.PvTilt),
                Column("pv_terrain_shading", NpgsqlDbType.Boolean, devices, d => d.PvTerrainShading),
                Column("pv_forecasts_enabled", NpgsqlDbType.Boolean, devices, d => d.PvForecastsEnabled),
                Column("install_date", NpgsqlDbType.TimestampTz, devices, d => d.InstallDate),
                Column("time_created", NpgsqlDbType.TimestampTz, devices, d => d.TimeCreated),
                Column("event_id", NpgsqlDbType.Text, items, i => i.EventId),
                Column("response", NpgsqlDbType.Text, items, i => i.ResponseJson),
                Column("response_location", NpgsqlDbType.Text, items, i => i.ResponseLocation),
                Column("idempotency_key", NpgsqlDbType.Text, items, i => i.IdempotencyKey),
                Column("location_request", NpgsqlDbType.Bigint, locations, l => l.Request),
                Column("location_index", NpgsqlDbType.Integer, locations, l => l.Index),
                Column("location_id", NpgsqlDbType.Text, locations, l => l.Id),
            },
        };
        var outcomes = Enumerable.Repeat(DeviceCreateOutcome.Created, items.Count).ToArray();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            outcomes[reader.GetInt64(0) - 1] = new DeviceCreateOutcome(reader.GetInt32(1));
        }

        return outcomes;
    }

    public async Task<DeviceCreateOutcome?[]> FindStoredAsync(NpgsqlConnection connection, IReadOnlyList<DeviceCreate> items, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(StoredStatement, connection)
        {
            Parameters =
            {
                Column("account_id", NpgsqlDbType.Text, items, i => i.Device.AccountId),
                Column("live_mode", NpgsqlDbType.Boolean, items, i => i.Device.LiveMode),
                Column("event_id", NpgsqlDbType.Text, items, i => i.EventId),
            },
        };
        var stored = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            stored.Add(reader.GetString(0));
        }

        return [.. items.Select(i => stored.Contains(i.EventId) ? DeviceCreateOutcome.Created : null)];
    }
}
