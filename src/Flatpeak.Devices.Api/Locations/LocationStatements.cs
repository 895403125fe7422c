using Flatpeak.Devices.Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Flatpeak.Devices.Api.Locations;

/// <summary>The SQL of every location write, and of its embedded device ids, in one place; each write is one statement with its event (see <see cref="Changes"/>).</summary>
public sealed class LocationStatements : IChangeStatements<Location>
{
    private static LocationStatements? _current;

    private LocationStatements(IModel model)
    {
        Columns = new EntityColumns<Location>(model);
        Create = Changes.Statement(
            $"""
            {MissingCustomer},
            changed AS (
                INSERT INTO locations ({Columns.Names})
                SELECT {Columns.Values} FROM missing WHERE missing.index IS NULL
                RETURNING account_id, live_mode, id
            )
            """,
            "SELECT (SELECT index FROM missing)");
        Update = Changes.Statement(
            $"""
            {MissingCustomer},
            changed AS (
                UPDATE locations SET {Columns.Assignments}
                FROM missing WHERE missing.index IS NULL AND {Columns.KeyMatches}
                RETURNING locations.account_id, locations.live_mode, locations.id
            )
            """,
            "SELECT (SELECT index FROM missing)");
        // Under the delete lock (FOR UPDATE), which waited for every device write that named this location.
        Delete = Changes.Statement(
            $"""
            changed AS (
                DELETE FROM locations WHERE {Columns.KeyMatches}
                  AND NOT EXISTS (
                      SELECT FROM device_locations dl
                      WHERE dl.account_id = @c_account_id::text AND dl.live_mode = @c_live_mode::boolean AND dl.location_id = @c_id::text)
                RETURNING account_id, live_mode, id
            )
            """,
            "SELECT (SELECT count(*)::int FROM changed)");
    }

    public EntityColumns<Location> Columns { get; }

    /// <summary>Inserts the location when its customer (if any) is one of its account and mode; returns 0 when it is not, else null.</summary>
    public ChangeStatement Create { get; }

    /// <summary>Writes every column of a location this transaction has locked; returns as <see cref="Create"/>.</summary>
    public ChangeStatement Update { get; }

    /// <summary>Deletes the location unless a device references it; returns how many rows went (0 or 1).</summary>
    public ChangeStatement Delete { get; }

    public static LocationStatements For(DevicesDbContext db) => _current ??= new LocationStatements(db.Model);

    /// <summary>For each of the locations, the newest devices that reference it (see <see cref="EmbeddedId"/>).</summary>
    public static IQueryable<EmbeddedId> DevicesAt(DevicesDbContext db, string accountId, bool liveMode, string[] locationIds) =>
        db.Database.SqlQuery<EmbeddedId>(
            $"""
            SELECT l.id AS parent, d.id
            FROM unnest({locationIds}::text[]) AS l(id)
            CROSS JOIN LATERAL (
                SELECT dl.device_id AS id FROM device_locations dl
                WHERE dl.account_id = {accountId} AND dl.live_mode = {liveMode} AND dl.location_id = l.id
                ORDER BY dl.device_id DESC LIMIT {EmbeddedId.Max}) d
            """);

    /// <summary>
    /// 0 when the location names a customer that is not one of its account and mode, else null. A found customer is
    /// locked <c>FOR KEY SHARE</c> until the write commits, so a concurrent customer delete either waits and then sees
    /// this location, or goes first and this write does not find the customer.
    /// </summary>
    private const string MissingCustomer = """
        customer AS (
            SELECT c.id FROM customers c
            WHERE c.account_id = @c_account_id::text AND c.live_mode = @c_live_mode::boolean AND c.id = @c_customer_id::text
            FOR KEY SHARE
        ), missing AS (
            SELECT CASE WHEN @c_customer_id::text IS NOT NULL AND NOT EXISTS (SELECT FROM customer) THEN 0 END AS index
        )
        """;
}
