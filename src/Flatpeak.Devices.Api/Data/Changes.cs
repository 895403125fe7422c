using System.Data.Common;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Idempotency;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Flatpeak.Devices.Api.Data;

/// <summary>One change statement (<see cref="Changes.Statement"/>), as sent without and with an Idempotency-Key.</summary>
public sealed record ChangeStatement(PositionalStatement Plain, PositionalStatement Idempotent);

/// <summary>The event a change writes: its type and the object as stored right after the change (as JSON).</summary>
public sealed record ChangeEvent(string AccountId, bool LiveMode, string Type, string ObjectJson, DateTimeOffset Time)
{
    public string Id { get; } = ObjectIds.New(ObjectIds.Event, Time);
}

/// <summary>
/// How every change is written: one SQL statement per change, whose CTE named <c>changed</c> makes the change and
/// returns the changed rows' <c>account_id, live_mode, id</c>; the event and, when the request carries an
/// Idempotency-Key, the response to replay are written by the same statement from those rows. No row changed means
/// no event and nothing remembered; a statement is atomic, so there is never one without the other.
/// </summary>
public static class Changes
{
    /// <summary>Appended to each resource's change CTEs: the event, from the changed rows.</summary>
    private const string Event = """

        , change_event AS (
            INSERT INTO events (account_id, live_mode, id, type, object_id, data, time_created)
            SELECT c.account_id, c.live_mode, @event_id, @event_type, c.id, @object_json::json, @event_time FROM changed c
        )

        """;

    /// <summary>Appended after <see cref="Event"/> for a request with an Idempotency-Key: the response it will replay.</summary>
    private const string IdempotentResponse = """
        , idempotent_response AS (
            UPDATE idempotency_keys k
            SET response_status = @response_status, response_body = @object_json, response_location = @response_location
            FROM changed c
            WHERE k.account_id = c.account_id AND k.live_mode = c.live_mode AND k.key = @idempotency_key::text
        )

        """;

    /// <summary>
    /// A change statement: the resource's CTEs (ending with <c>changed</c> or CTEs that read it), the event, then a
    /// final SELECT of one value; in two variants, with and without the Idempotency-Key's response, so that a request
    /// without the header does not carry (and PostgreSQL does not set up) an UPDATE that would match nothing.
    /// </summary>
    public static ChangeStatement Statement(string changeCtes, string select) =>
        new(new("WITH " + changeCtes + Event + select), new("WITH " + changeCtes + Event + IdempotentResponse + select));

    /// <summary>
    /// Runs a change statement and returns its one value. <paramref name="response"/> is what an idempotent request
    /// answers when the change happens (its status and Location); the body is the object, as in the event. When the
    /// change happened, the caller marks <paramref name="claim"/> as stored.
    /// </summary>
    public static async Task<T?> ExecuteChangeAsync<T>(
        this DevicesDbContext db, ChangeStatement statement, IEnumerable<DbParameter> parameters, ChangeEvent change,
        IdempotencyClaim? claim, (int Status, string? Location) response, CancellationToken cancellationToken)
    {
        DbParameter[] all =
        [
            .. parameters,
            Text("event_id", change.Id),
            Text("event_type", change.Type),
            Text("object_json", change.ObjectJson),
            new NpgsqlParameter("event_time", NpgsqlDbType.TimestampTz) { Value = change.Time },
            new NpgsqlParameter("response_status", NpgsqlDbType.Integer) { Value = response.Status },
            Text("response_location", response.Location),
            Text("idempotency_key", claim?.Key),
        ];
        // On the context's connection and in its transaction, if any: EF Core owns both.
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var variant = claim is null ? statement.Plain : statement.Idempotent;
            await using var command = variant.CreateCommand((NpgsqlConnection)db.Database.GetDbConnection(), all);
            command.Transaction = (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction();
            var value = await command.ExecuteScalarAsync(cancellationToken);
            return value is null or DBNull ? default : (T)value;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>
    /// Runs a write once, even when a transient fault hides whether it committed: EF's retrying strategy tries again,
    /// but first asks whether the change's event exists; if it does, the first attempt committed and its result stands.
    /// With <paramref name="inTransaction"/>, the write runs in a transaction (for reads under a row lock before the change).
    /// </summary>
    public static Task<T> WriteOnceAsync<T>(
        this DevicesDbContext db, Func<ChangeEvent?> change, Func<CancellationToken, Task<T>> write, bool inTransaction, CancellationToken cancellationToken)
    {
        T? last = default;
        var attempts = 0;
        async Task<T> Attempt(DbContext _, CancellationToken ct)
        {
            last = default;
            attempts++;
            try
            {
                if (!inTransaction)
                {
                    return last = await write(ct);
                }

                await using var transaction = await db.Database.BeginTransactionAsync(ct);
                last = await write(ct);
                await transaction.CommitAsync(ct);
                return last;
            }
            catch (Npgsql.PostgresException e) when (e.SqlState == Npgsql.PostgresErrorCodes.UniqueViolation && attempts > 1)
            {
                // The first attempt's commit became visible only after the check before this retry: it stands.
                if (await StoredAsync(ct))
                {
                    return last!;
                }

                throw;
            }
        }

        async Task<bool> StoredAsync(CancellationToken ct) =>
            change() is { } attempted &&
            await db.Events.AnyAsync(e => e.AccountId == attempted.AccountId && e.LiveMode == attempted.LiveMode && e.Id == attempted.Id, ct);

        async Task<ExecutionResult<T>> Committed(DbContext _, CancellationToken ct) =>
            await StoredAsync(ct) ? new ExecutionResult<T>(true, last!) : new ExecutionResult<T>(false, default!);

        return db.Database.CreateExecutionStrategy().ExecuteAsync<DbContext, T>(db, Attempt, Committed, cancellationToken);
    }

    private static NpgsqlParameter Text(string name, string? value) =>
        new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };
}
