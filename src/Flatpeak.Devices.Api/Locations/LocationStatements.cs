using Flatpeak.Devices.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Locations;

/// <summary>The SQL a location reads by hand: the devices it embeds.</summary>
public static class LocationStatements
{
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
}
