using Flatpeak.Devices.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Customers;

/// <summary>The SQL a customer reads by hand: the locations it embeds.</summary>
public static class CustomerStatements
{
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
