using Flatpeak.Devices.Api.Data;
using Npgsql;
using NpgsqlTypes;

namespace Flatpeak.Devices.Api.DeviceStates;

/// <summary>A page of a device's history as read: whether the device and the cursor were found, and the records, newest first.</summary>
public sealed record DeviceStatePage(bool DeviceFound, bool CursorFound, IReadOnlyList<DeviceStateResponse> Records, bool HasMore);

/// <summary>
/// What to read: a device's records with <c>time</c> from <c>From</c> to <c>To</c>, on one side of
/// the record <c>CursorId</c> (its page goes on from that record's place in <c>(time, id)</c> order): older ones, or
/// newer ones when <c>Newer</c> (<c>ending_before</c>); <c>Limit</c> of them.
/// </summary>
public sealed record DeviceStatePageQuery(
    string AccountId, bool LiveMode, string DeviceId, DateTimeOffset From, DateTimeOffset To, string? CursorId, bool Newer, int Limit);

/// <summary>
/// Reads of <c>device_states</c>: one statement for the newest record and for every page of the history, sent with a
/// setting for its own transaction in one round trip. Over a dozen monthly partitions, planning the statement for its
/// parameters each time costs more than reading the page, so it runs on PostgreSQL's generic plan, which prunes the
/// partitions when it starts (left to itself PostgreSQL keeps planning afresh: the generic plan's estimate, which cannot
/// prune, looks dearer). PostgreSQL 15 still locks every partition a generic plan holds, and opens those the window
/// of <c>time</c> reaches, so a page is read first from the month before its newest possible record, where a
/// reporting device's page lies, and only if that month holds too few records from the older ones.
/// </summary>
public sealed class DeviceStateReads(NpgsqlDataSource dataSource)
{
    /// <summary>How far back from its newest possible record a page is read first.</summary>
    public static readonly TimeSpan RecentWindow = TimeSpan.FromDays(31);

    /// <summary>
    /// The newest <c>time</c> a stored record can have at <paramref name="now"/>: a record is accepted up to
    /// <see cref="DeviceStateLimits.MaxAhead"/> ahead of the clock of the instance it was sent to; a day's margin covers
    /// the instances' clocks. It keeps the months made ahead out of every read.
    /// </summary>
    public static DateTimeOffset NewestPossible(DateTimeOffset now) => now + DeviceStateLimits.MaxAhead + TimeSpan.FromDays(1);

    /// <summary>
    /// The device (of this account and mode), the cursor record (found through the second its id carries), and up to
    /// <c>@limit</c> records on the cursor's side of it, in the window. One row with nulls when the device has none.
    /// </summary>
    public const string PageStatement = """
        SELECT d.id IS NOT NULL, c.id IS NOT NULL,
               s.id, s.location_id, s.time, s.state_of_charge_percent, s.target_state_of_charge_percent,
               s.battery_power_kw, s.energy_remaining_kwh, s.backup_reserve_percent, s.energy_flow_direction,
               s.record_reference_id, s.time_created
        FROM (VALUES (@account_id::text, @live_mode::boolean, @device_id::text)) AS k(account_id, live_mode, device_id)
        LEFT JOIN devices d ON d.account_id = k.account_id AND d.live_mode = k.live_mode AND d.id = k.device_id
        LEFT JOIN LATERAL (
            SELECT c.time, c.id FROM device_states c
            WHERE c.account_id = k.account_id AND c.live_mode = k.live_mode AND c.device_id = k.device_id
              AND c.time >= @cursor_second::timestamptz AND c.time < @cursor_second::timestamptz + interval '1 second'
              AND c.time >= @time_from::timestamptz AND c.id = @cursor_id::text
        ) c ON true
        LEFT JOIN LATERAL (
            (SELECT * FROM device_states o
             WHERE NOT @newer::boolean AND d.id IS NOT NULL
               AND o.account_id = k.account_id AND o.live_mode = k.live_mode AND o.device_id = k.device_id
               AND o.time >= @time_from::timestamptz AND o.time <= @time_to::timestamptz
               AND (o.time, o.id) < (coalesce(c.time, 'infinity'), coalesce(c.id, ''))
             ORDER BY o.time DESC, o.id DESC LIMIT @limit::integer)
            UNION ALL
            (SELECT * FROM device_states n
             WHERE @newer::boolean AND d.id IS NOT NULL
               AND n.account_id = k.account_id AND n.live_mode = k.live_mode AND n.device_id = k.device_id
               AND n.time >= @time_from::timestamptz AND n.time <= @time_to::timestamptz
               AND (n.time, n.id) > (c.time, c.id)
             ORDER BY n.time, n.id LIMIT @limit::integer)
        ) s ON true
        """;

    /// <summary>One page: up to <see cref="DeviceStatePageQuery.Limit"/> records, newest first, and whether there are more.</summary>
    public async Task<DeviceStatePage> PageAsync(DeviceStatePageQuery query, CancellationToken cancellationToken)
    {
        if (query.Newer)
        {
            return await ReadAsync(query, cancellationToken);
        }

        var newest = query.CursorId is null ? query.To : Min(query.To, Common.ObjectIds.TimeOf(query.CursorId).AddSeconds(1));
        var recent = newest - RecentWindow;
        if (recent <= query.From)
        {
            return await ReadAsync(query, cancellationToken);
        }

        var first = await ReadAsync(query with { From = recent }, cancellationToken);
        if (!first.DeviceFound || (query.CursorId is not null && !first.CursorFound) || first.HasMore)
        {
            return first;
        }

        // Timestamps are whole microseconds: up to a microsecond before the recent window is before it.
        var older = await ReadAsync(
            query with { To = Min(query.To, recent.AddTicks(-TimeSpan.TicksPerMicrosecond)), CursorId = null, Limit = query.Limit - first.Records.Count },
            cancellationToken);
        return first with { Records = [.. first.Records, .. older.Records], HasMore = older.HasMore };
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private async Task<DeviceStatePage> ReadAsync(DeviceStatePageQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // One round trip, one implicit transaction (a batch ends in one Sync): the setting holds for the read alone.
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(PlanCache.ForceGenericPlan));
        var read = new NpgsqlBatchCommand(PageStatement);
        batch.BatchCommands.Add(read);
        read.Parameters.Add(new NpgsqlParameter<string>("account_id", NpgsqlDbType.Text) { TypedValue = query.AccountId });
        read.Parameters.Add(new NpgsqlParameter<bool>("live_mode", NpgsqlDbType.Boolean) { TypedValue = query.LiveMode });
        read.Parameters.Add(new NpgsqlParameter<string>("device_id", NpgsqlDbType.Text) { TypedValue = query.DeviceId });
        read.Parameters.Add(new NpgsqlParameter("cursor_id", NpgsqlDbType.Text) { Value = (object?)query.CursorId ?? DBNull.Value });
        read.Parameters.Add(new NpgsqlParameter("cursor_second", NpgsqlDbType.TimestampTz)
        {
            Value = query.CursorId is null ? DBNull.Value : Common.ObjectIds.TimeOf(query.CursorId),
        });
        read.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("time_from", NpgsqlDbType.TimestampTz) { TypedValue = query.From });
        read.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("time_to", NpgsqlDbType.TimestampTz) { TypedValue = query.To });
        read.Parameters.Add(new NpgsqlParameter<bool>("newer", NpgsqlDbType.Boolean) { TypedValue = query.Newer });
        read.Parameters.Add(new NpgsqlParameter<int>("limit", NpgsqlDbType.Integer) { TypedValue = query.Limit + 1 });

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        bool deviceFound = false, cursorFound = false;
        var records = new List<DeviceStateResponse>(query.Limit + 1);
        while (await reader.ReadAsync(cancellationToken))
        {
            deviceFound = reader.GetBoolean(0);
            cursorFound = reader.GetBoolean(1);
            if (!reader.IsDBNull(2))
            {
                records.Add(new DeviceStateResponse(
                    reader.GetString(2), DeviceStateResponse.ObjectName, query.DeviceId, query.AccountId, query.LiveMode,
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.GetFieldValue<DateTimeOffset>(4),
                    reader.GetDouble(5),
                    reader.GetDouble(6),
                    reader.IsDBNull(7) ? null : reader.GetDouble(7),
                    reader.IsDBNull(8) ? null : reader.GetDouble(8),
                    reader.IsDBNull(9) ? null : reader.GetDouble(9),
                    reader.IsDBNull(10) ? null : reader.GetString(10),
                    reader.IsDBNull(11) ? null : reader.GetString(11),
                    reader.GetFieldValue<DateTimeOffset>(12)));
            }
        }

        // The statement leaves the order of its rows open; newest first, the page's own records only.
        records.Sort((a, b) => b.Time != a.Time ? b.Time.CompareTo(a.Time) : string.CompareOrdinal(b.Id, a.Id));
        var hasMore = records.Count > query.Limit;
        if (hasMore)
        {
            // Paging towards newer records, the extra one is the newest; towards older ones, the oldest.
            records.RemoveAt(query.Newer ? 0 : records.Count - 1);
        }

        return new DeviceStatePage(deviceFound, cursorFound, records, hasMore);
    }
}
