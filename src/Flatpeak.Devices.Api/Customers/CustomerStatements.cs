using Flatpeak.Devices.Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Flatpeak.Devices.Api.Customers;

/// <summary>The SQL of every customer write, in one place; each is one statement with its event (see <see cref="Changes"/>).</summary>
public sealed class CustomerStatements : IChangeStatements<Customer>
{
    private static CustomerStatements? _current;

    private CustomerStatements(IModel model)
    {
        Columns = new EntityColumns<Customer>(model);
        Create = Changes.Statement(
            $"""
            changed AS (
                INSERT INTO customers ({Columns.Names}) VALUES ({Columns.Values})
                RETURNING account_id, live_mode, id
            )
            """,
            "SELECT NULL::int");
        Update = Changes.Statement(
            $"""
            changed AS (
                UPDATE customers SET {Columns.Assignments} WHERE {Columns.KeyMatches}
                RETURNING account_id, live_mode, id
            )
            """,
            "SELECT NULL::int");
        // Under the delete lock (FOR UPDATE), which waited for every location write that named this customer.
        Delete = Changes.Statement(
            $"""
            changed AS (
                DELETE FROM customers WHERE {Columns.KeyMatches}
                  AND NOT EXISTS (
                      SELECT FROM locations l
                      WHERE l.account_id = @c_account_id::text AND l.live_mode = @c_live_mode::boolean AND l.customer_id = @c_id::text)
                RETURNING account_id, live_mode, id
            )
            """,
            "SELECT (SELECT count(*)::int FROM changed)");
    }

    public EntityColumns<Customer> Columns { get; }

    public ChangeStatement Create { get; }

    public ChangeStatement Update { get; }

    public ChangeStatement Delete { get; }

    public static CustomerStatements For(DevicesDbContext db) => _current ??= new CustomerStatements(db.Model);

    /// <summary>For each of the customers, the newest locations that name it (see <see cref="EmbeddedId"/>).</summary>
    public static IQueryable<EmbeddedId> LocationsOf(DevicesDbContext db, string accountId, bool liveMode, string[] customerIds) =>
        db.Database.SqlQuery<EmbeddedId>(
            $"""
            SELECT c.id AS parent, l.id
            FROM unnest({customerIds}::text[]) AS c(id)
            CROSS JOIN LATERAL (
                SELECT l.id FROM locations l
                WHERE l.account_id = {accountId} AND l.live_mode = {liveMode} AND l.customer_id = c.id
                ORDER BY l.id DESC LIMIT {EmbeddedId.Max}) l
            """);
}
