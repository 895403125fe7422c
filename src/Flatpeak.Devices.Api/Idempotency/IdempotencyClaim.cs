using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Idempotency;

/// <summary>
/// The Idempotency-Key a request holds, as a request feature. A write stores the response to replay in its own unit
/// of work, so that the change never commits without it: a batched device create in its statement
/// (<see cref="Devices.DeviceCreates"/>), the EF Core writes (objects and webhook endpoints) with
/// <see cref="TrackResponse"/>; once committed, each says so here (<see cref="Committed"/>). An answer that
/// changed nothing is stored by the filter, after.
/// </summary>
public sealed class IdempotencyClaim(string key)
{
    public string Key { get; } = key;

    public bool ResponseStored { get; set; }

    /// <summary>
    /// Adds the response the request's Idempotency-Key replays to <paramref name="db"/>'s unit of work, if the request
    /// carries a key: saved with the change, or not at all. The key's row must exist (the filter claimed it).
    /// </summary>
    public static void TrackResponse(HttpContext http, DevicesDbContext db, Caller caller, int status, string body, string? location)
    {
        if (http.Features.Get<IdempotencyClaim>() is not { } claim)
        {
            return;
        }

        var key = new IdempotencyKey
        {
            AccountId = caller.AccountId,
            LiveMode = caller.LiveMode,
            Key = claim.Key,
            RequestHash = [],
            TimeCreated = default,
            LockedAt = default,
        };
        db.IdempotencyKeys.Attach(key);
        key.ResponseStatus = status;
        key.ResponseBody = body;
        key.ResponseLocation = location;
    }

    /// <summary>
    /// The write that stored the response committed: the filter must not store another. Not before the commit: a
    /// transaction that is retried may end with another answer, which the filter then stores.
    /// </summary>
    public static void Committed(HttpContext http)
    {
        if (http.Features.Get<IdempotencyClaim>() is { } claim)
        {
            claim.ResponseStored = true;
        }
    }
}
