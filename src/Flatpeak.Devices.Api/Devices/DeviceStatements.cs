using Flatpeak.Devices.Api.Data;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Flatpeak.Devices.Api.Devices;

/// <summary>
/// The SQL of every device write, in one place. Each is one statement (see <see cref="Changes"/>): the location check,
/// the change and its event (and an idempotent request's response) in one round trip. Column lists and parameters
/// come from the EF model of <see cref="Device"/>. Each also keeps <see cref="DeviceLocation"/> rows in step with the
/// device's locations: a create adds them, a patch removes the locations dropped and adds the new ones (the
/// <c>previous</c> CTE reads the row as it was before the statement), a delete removes them.
/// </summary>
public sealed class DeviceStatements : IChangeStatements<Device>
{
    private static DeviceStatements? _current;

    private DeviceStatements(IModel model)
    {
        Columns = new EntityColumns<Device>(model);
        Create = Changes.Statement(
            $"""
            {MissingLocation},
            changed AS (
                INSERT INTO devices ({Columns.Names})
                SELECT {Columns.Values} FROM missing WHERE missing.index IS NULL
                RETURNING account_id, live_mode, id
            ), located AS (
                INSERT INTO device_locations (account_id, live_mode, location_id, device_id)
                SELECT c.account_id, c.live_mode, l.id, c.id FROM changed c, unnest(@c_locations::text[]) AS l(id)
            )
            """,
            "SELECT (SELECT index FROM missing)");
        Update = Changes.Statement(
            $"""
            {MissingLocation},
            previous AS (
                SELECT devices.locations FROM devices WHERE {Columns.KeyMatches}
            ), changed AS (
                UPDATE devices SET {Columns.Assignments}
                FROM missing WHERE missing.index IS NULL AND {Columns.KeyMatches}
                RETURNING devices.account_id, devices.live_mode, devices.id
            ), unlocated AS (
                DELETE FROM device_locations dl USING changed c, previous p
                WHERE dl.account_id = c.account_id AND dl.live_mode = c.live_mode AND dl.location_id = ANY(p.locations)
                  AND dl.device_id = c.id AND dl.location_id <> ALL(@c_locations::text[])
            ), located AS (
                INSERT INTO device_locations (account_id, live_mode, location_id, device_id)
                SELECT c.account_id, c.live_mode, l.id, c.id FROM changed c, previous p, unnest(@c_locations::text[]) AS l(id)
                WHERE l.id <> ALL(p.locations)
            )
            """,
            "SELECT (SELECT index FROM missing)");
        Delete = Changes.Statement(
            $"""
            changed AS (
                DELETE FROM devices WHERE {Columns.KeyMatches}
                RETURNING account_id, live_mode, id, locations
            ), unlocated AS (
                DELETE FROM device_locations dl USING changed c
                WHERE dl.account_id = c.account_id AND dl.live_mode = c.live_mode AND dl.location_id = ANY(c.locations) AND dl.device_id = c.id
            )
            """,
            "SELECT (SELECT count(*)::int FROM changed)");
    }

    public EntityColumns<Device> Columns { get; }

    /// <summary>Inserts the device when every location it names is one of its account and mode; returns the index of the first that is not, or null.</summary>
    public ChangeStatement Create { get; }

    /// <summary>Writes every column of a device this transaction has locked, when all its locations are found; returns as <see cref="Create"/>.</summary>
    public ChangeStatement Update { get; }

    /// <summary>Deletes the device; returns how many rows went (0 or 1).</summary>
    public ChangeStatement Delete { get; }

    public static DeviceStatements For(DevicesDbContext db) => _current ??= new DeviceStatements(db.Model);

    /// <summary>
    /// The index (from 0) of the first of the device's locations that is not a location of its account and mode. The
    /// found locations are locked <c>FOR KEY SHARE</c> until the write commits: a location delete (which takes the row
    /// <c>FOR UPDATE</c>) waits for this write and then sees its device, or this write waits for the delete and then
    /// does not find the location. Creates at one location do not wait for each other, nor for a patch of the location.
    /// </summary>
    private const string MissingLocation = """
        found AS (
            SELECT l.id FROM locations l
            WHERE l.account_id = @c_account_id::text AND l.live_mode = @c_live_mode::boolean AND l.id = ANY(@c_locations::text[])
            FOR KEY SHARE
        ), missing AS (
            SELECT min(wanted.ord)::int - 1 AS index
            FROM unnest(@c_locations::text[]) WITH ORDINALITY AS wanted(id, ord)
            WHERE wanted.id <> ALL (ARRAY(SELECT found.id FROM found))
        )
        """;
}
