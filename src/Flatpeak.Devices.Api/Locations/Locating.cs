using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Locations;

public static class Locating
{
    /// <summary>
    /// The index of the first id that is not a location of the caller's account and mode, or null when all are.
    /// Another account's location and one in the other mode are missing in exactly the same way as one that never existed.
    /// </summary>
    public static async Task<int?> FirstMissingAsync(DevicesDbContext db, Caller caller, List<string> ids, CancellationToken cancellationToken)
    {
        var found = await db.Locations
            .Where(l => l.AccountId == caller.AccountId && l.LiveMode == caller.LiveMode && ids.Contains(l.Id))
            .Select(l => l.Id)
            .ToListAsync(cancellationToken);
        if (found.Count == ids.Count)
        {
            return null;
        }

        var index = ids.FindIndex(id => !found.Contains(id, StringComparer.Ordinal));
        return index < 0 ? null : index;
    }
}
