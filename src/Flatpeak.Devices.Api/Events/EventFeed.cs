using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Data;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Events;

/// <summary>
/// The event feed, which never skips an event. Event ids are taken before commit, so id order is not commit order: a
/// reader that paged by id could pass an id whose transaction commits a moment later. So each event records the id of
/// the transaction that wrote it, the feed is ordered by (transaction id, event id), and a list shows only events of
/// transactions older than every transaction still running (<c>pg_snapshot_xmin</c>): nothing can ever appear before
/// a position a reader has already seen.
/// </summary>
public static class EventFeed
{
    /// <summary>The writing transaction's id, as the events table's default.</summary>
    public const string CurrentTransactionIdSql = "(pg_current_xact_id()::text)::bigint";

    /// <summary>Every transaction id below this has ended: events with a smaller <c>xact_id</c> are settled.</summary>
    public const string SettledBelowSql = "(pg_snapshot_xmin(pg_current_snapshot())::text)::bigint";

    /// <summary>The feed's horizon now (every transaction id below it has ended) and the next transaction id to be given.</summary>
    public const string HorizonStatement =
        "SELECT (pg_snapshot_xmin(s)::text)::bigint, (pg_snapshot_xmax(s)::text)::bigint FROM pg_current_snapshot() AS s";

    private const string Settled = "SELECT * FROM events WHERE xact_id < " + SettledBelowSql;

    /// <summary>The caller's events (its account and mode) still served: ids from <paramref name="horizon"/>, the oldest within the retention, on.</summary>
    public static IQueryable<ApiEvent> ServedTo(this IQueryable<ApiEvent> events, Caller caller, string horizon) =>
        events.Where(e => e.AccountId == caller.AccountId && e.LiveMode == caller.LiveMode && e.Id.CompareTo(horizon) >= 0);

    /// <summary>
    /// One page, newest first, of the events from <paramref name="horizon"/> (the oldest id within the retention) on;
    /// null when the cursor is not such an event of the caller's account and mode.
    /// </summary>
    public static async Task<Page<ApiEvent>?> PageAsync(
        DevicesDbContext db, Caller caller, EventListQuery query, string horizon, CancellationToken cancellationToken)
    {
        var limit = Paging.LimitOf(query);
        var cursor = query.StartingAfter ?? query.EndingBefore;
        long position = 0;
        if (cursor is not null)
        {
            var found = await db.Events.ServedTo(caller, horizon)
                .Where(e => e.Id == cursor)
                .Select(e => (long?)e.TransactionId)
                .SingleOrDefaultAsync(cancellationToken);
            if (found is null)
            {
                return null;
            }

            position = found.Value;
        }

        var events = db.Events.FromSqlRaw(Settled).ServedTo(caller, horizon);
        if (query.TypeFilter is { } type)
        {
            events = events.Where(e => e.Type == type);
        }

        if (query.ObjectId is { } objectId)
        {
            events = events.Where(e => e.ObjectId == objectId);
        }

        if (query.EndingBefore is not null)
        {
            var newer = await events
                .Where(e => e.TransactionId > position || (e.TransactionId == position && e.Id.CompareTo(cursor) > 0))
                .OrderBy(e => e.TransactionId).ThenBy(e => e.Id)
                .Take(limit + 1)
                .ToListAsync(cancellationToken);
            var page = newer.Take(limit).Reverse().ToList();
            return new Page<ApiEvent>(page, newer.Count > limit);
        }

        if (query.StartingAfter is not null)
        {
            events = events.Where(e => e.TransactionId < position || (e.TransactionId == position && e.Id.CompareTo(cursor) < 0));
        }

        var rows = await events.OrderByDescending(e => e.TransactionId).ThenByDescending(e => e.Id).Take(limit + 1).ToListAsync(cancellationToken);
        return new Page<ApiEvent>([.. rows.Take(limit)], rows.Count > limit);
    }
}
