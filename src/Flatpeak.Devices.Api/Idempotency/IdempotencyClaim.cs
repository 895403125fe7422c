using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Idempotency;

/// <summary>
/// The Idempotency-Key a request holds, as a request feature. A write stores the response to replay in its own unit
/// of work, so that the change never commits without it: the change statements in the statement itself, other writes
/// with <see cref="StoreInTransactionAsync"/>; either says so here. An answer that changed nothing is stored by the
/// filter, after.
/// </summary>
public sealed class IdempotencyClaim(string key)
{
    public string Key { get; } = key;

    public bool ResponseStored { get; set; }

    /// <summary>
    /// Stores the response the request's Idempotency-Key replays, in the transaction <paramref name="db"/> has open, if
    /// the request carries a key; called by a write just before it commits.
    /// </summary>
    public static async Task StoreInTransactionAsync(
        HttpContext http, DevicesDbContext db, Caller caller, int status, string body, string? location, CancellationToken cancellationToken)
    {
        if (http.Features.Get<IdempotencyClaim>() is not { } claim)
        {
            return;
        }

        await db.IdempotencyKeys
            .Where(k => k.AccountId == caller.AccountId && k.LiveMode == caller.LiveMode && k.Key == claim.Key)
            .ExecuteUpdateAsync(k => k
                .SetProperty(x => x.ResponseStatus, status)
                .SetProperty(x => x.ResponseBody, body)
                .SetProperty(x => x.ResponseLocation, location), cancellationToken);
        claim.ResponseStored = true;
    }
}
