using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Common.Json;
using Flatpeak.Devices.Api.Events;
using Flatpeak.Devices.Api.Idempotency;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Flatpeak.Devices.Api.Data;

/// <summary>
/// The answer to a delete (<c>202</c>, Flatpeak's declared code, though the delete is complete): Flatpeak's
/// <c>message: "Accepted"</c>, then the object's id, kind and mode, and <c>deleted: true</c>.
/// </summary>
public sealed record DeletedResponse(string Message, string Id, string Object, bool LiveMode, bool Deleted)
{
    public static DeletedResponse Of(string id, string kind, bool liveMode) => new("Accepted", id, kind, liveMode, Deleted: true);
}

/// <summary>What the shared write path needs to know about one kind of object.</summary>
/// <param name="Name">The object's name on the wire (<c>device</c>); events are <c>&lt;name&gt;.create|update|delete</c>.</param>
/// <param name="Path">Where its objects live (<c>/devices</c>).</param>
/// <param name="RequestJson">Its create request, which is also what a patch is merged into and validated as.</param>
/// <param name="ResponseJson">The object on the wire.</param>
/// <param name="Apply">Writes a validated request's fields onto the entity.</param>
/// <param name="Respond">The object on the wire, from the entity and its embedded ids.</param>
/// <param name="EmbeddedIds">The query of the ids a page of these objects embed (a location's devices), given the account, mode and object ids; null when it embeds none.</param>
/// <param name="MissingReference">The 400 for an object the entity references that is not one of its account and mode, or null when all are; null when it references none. The foreign keys guarantee it; this names the field.</param>
/// <param name="InUse">Whether other objects reference the object, which then cannot be deleted; null when nothing can.</param>
/// <param name="OwnedRows">The rows the object owns, derived from its fields (a device's <see cref="Devices.DeviceLocation"/> rows): written, changed and deleted with it.</param>
public sealed record ObjectKind<TEntity, TRequest, TResponse>(
    string Name,
    string Path,
    JsonTypeInfo<TRequest> RequestJson,
    JsonTypeInfo<TResponse> ResponseJson,
    Action<TRequest, TEntity> Apply,
    Func<TEntity, IReadOnlyList<string>, TResponse> Respond,
    Func<DevicesDbContext, string, bool, string[], IQueryable<EmbeddedId>>? EmbeddedIds,
    Func<HttpContext, DevicesDbContext, TEntity, CancellationToken, Task<BadRequest<ApiError>?>>? MissingReference,
    Func<DevicesDbContext, Caller, string, CancellationToken, Task<bool>>? InUse,
    Func<TEntity, IEnumerable<object>>? OwnedRows)
    where TEntity : class, IHasObjectId
{
    // Named once per kind, and checked against the event types the API lists.
    public string CreateEvent { get; } = EventTypeOf(Name, "create");

    public string UpdateEvent { get; } = EventTypeOf(Name, "update");

    public string DeleteEvent { get; } = EventTypeOf(Name, "delete");

    public string Serialize(TResponse response) => JsonSerializer.Serialize(response, ResponseJson);

    private static string EventTypeOf(string name, string change) => EventTypes.All.Contains($"{name}.{change}")
        ? $"{name}.{change}"
        : throw new ArgumentException($"{name}.{change} is not an event type.", nameof(name));

    /// <summary>The ids each of <paramref name="ids"/> embeds, newest first (one query for a whole page).</summary>
    public async Task<ILookup<string, string>> EmbeddedIdsAsync(DevicesDbContext db, Caller caller, string[] ids, CancellationToken cancellationToken) =>
        EmbeddedIds is null
            ? Array.Empty<EmbeddedId>().ToLookup(e => e.Parent, e => e.Id)
            : await EmbeddedId.ByParentAsync(EmbeddedIds(db, caller.AccountId, caller.LiveMode, ids), cancellationToken);

    /// <summary>The ids the object embeds, read in the caller's transaction if any.</summary>
    public async Task<IReadOnlyList<string>> ChildrenAsync(DevicesDbContext db, Caller caller, string id, CancellationToken cancellationToken) =>
        [.. (await EmbeddedIdsAsync(db, caller, [id], cancellationToken))[id]];

    public async Task<TResponse> RespondAsync(DevicesDbContext db, Caller caller, TEntity entity, CancellationToken cancellationToken) =>
        Respond(entity, await ChildrenAsync(db, caller, entity.Id, cancellationToken));

    public IEnumerable<object> RowsOwnedBy(TEntity entity) => OwnedRows?.Invoke(entity) ?? [];
}

/// <summary>
/// Create, merge-patch and delete for the kinds of object written one at a time (locations, customers, device patches
/// and deletes; device creates share statements: <see cref="Batching.WriteBatcher{TItem, TOutcome}"/>). Each is one
/// EF Core unit of work: the object, the rows it owns, its event and, for a create with an Idempotency-Key, the
/// response to replay, saved together in one transaction. References are foreign keys: a check before the save names
/// the missing object or the object in use, and the database refuses what a concurrent write slipped past the check
/// (the write then runs again, and the check sees it). Writers of one object take turns on a transaction-level
/// advisory lock on its id, so every event shows a state the object really had, in the order the writes were made.
/// </summary>
public static class ObjectWrites
{
    public static async Task<Results<Created<TResponse>, BadRequest<ApiError>>> CreateAsync<TEntity, TRequest, TResponse>(
        ObjectKind<TEntity, TRequest, TResponse> kind, TEntity entity, DateTimeOffset now, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken)
        where TEntity : class, IHasObjectId
    {
        var response = kind.Respond(entity, []);
        var json = kind.Serialize(response);
        var path = $"{kind.Path}/{entity.Id}";
        var eventId = ObjectIds.New(ObjectIds.Event, now);
        ApiEvent? change = null;
        var refused = await db.WriteOnceAsync(
            ct => StoredAsync(db, change, ct),
            async ct =>
            {
                if (kind.MissingReference is not null && await kind.MissingReference(http, db, entity, ct) is { } missing)
                {
                    return missing;
                }

                db.Add(entity);
                db.AddRange(kind.RowsOwnedBy(entity));
                db.Events.Add(change = NewEvent(eventId, caller, kind.CreateEvent, entity.Id, json, now));
                IdempotencyClaim.TrackResponse(http, db, caller, StatusCodes.Status201Created, json, path);
                await db.SaveChangesAsync(ct);
                return null;
            },
            inTransaction: false,
            cancellationToken);
        if (refused is not null)
        {
            return refused;
        }

        IdempotencyClaim.Committed(http);
        EventsCommitted(http);
        return TypedResults.Created(path, response);
    }

    /// <summary>
    /// A JSON merge patch (RFC 7396) under the object's lock: merged into the object as stored, validated by the rules of
    /// a create, and written with its event. A patch that changes nothing writes nothing.
    /// </summary>
    public static async Task<Results<Ok<TResponse>, BadRequest<ApiError>, NotFound<ApiError>>> UpdateAsync<TEntity, TRequest, TResponse>(
        ObjectKind<TEntity, TRequest, TResponse> kind, string id, JsonElement body, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken)
        where TEntity : class, IHasObjectId
    {
        // The body check has refused duplicates and broken JSON, and the patch filter anything but an object.
        var patch = JsonObject.Create(body)!;
        var now = TimeOf(http);
        var eventId = ObjectIds.New(ObjectIds.Event, now);
        ApiEvent? change = null;
        var result = await db.WriteOnceAsync<Results<Ok<TResponse>, BadRequest<ApiError>, NotFound<ApiError>>>(
            ct => StoredAsync(db, change, ct),
            async ct =>
            {
                change = null;
                if (await LockAsync<TEntity>(db, caller, id, ct) is not { } entity)
                {
                    return ApiErrors.NotFound(http, kind.Name, id);
                }

                var children = await kind.ChildrenAsync(db, caller, id, ct);
                var stored = kind.Respond(entity, children);
                var merged = MergePatch.Apply(MergePatch.Writable(stored, kind.ResponseJson, kind.RequestJson), patch);
                var (request, invalid) = await PatchValidation.ReadMergedAsync<TRequest>(http, merged, patch, ct);
                if (invalid is not null)
                {
                    return invalid;
                }

                var ownedBefore = kind.RowsOwnedBy(entity).ToHashSet();
                kind.Apply(request!, entity);
                var updated = kind.Respond(entity, children);
                var json = kind.Serialize(updated);
                if (json == kind.Serialize(stored))
                {
                    return TypedResults.Ok(stored);
                }

                if (kind.MissingReference is not null && await kind.MissingReference(http, db, entity, ct) is { } missing)
                {
                    return missing;
                }

                var ownedAfter = kind.RowsOwnedBy(entity).ToHashSet();
                db.RemoveRange(ownedBefore.Except(ownedAfter));
                db.AddRange(ownedAfter.Except(ownedBefore));
                db.Events.Add(change = NewEvent(eventId, caller, kind.UpdateEvent, id, json, now));
                await db.SaveChangesAsync(ct);
                return TypedResults.Ok(updated);
            },
            inTransaction: true,
            cancellationToken);
        if (change is not null)
        {
            EventsCommitted(http);
        }

        return result;
    }

    /// <summary>
    /// Deletes under the object's lock, so that the event shows the object exactly as it was when it went. An object that
    /// others still reference is refused with <c>409 &lt;name&gt;_in_use</c>; the foreign keys refuse a reference made
    /// after the check, and the delete then runs again and sees it.
    /// </summary>
    public static async Task<Results<Accepted<DeletedResponse>, NotFound<ApiError>, Conflict<ApiError>>> DeleteAsync<TEntity, TRequest, TResponse>(
        ObjectKind<TEntity, TRequest, TResponse> kind, string id, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken)
        where TEntity : class, IHasObjectId
    {
        var now = TimeOf(http);
        var eventId = ObjectIds.New(ObjectIds.Event, now);
        ApiEvent? change = null;
        var result = await db.WriteOnceAsync<Results<Accepted<DeletedResponse>, NotFound<ApiError>, Conflict<ApiError>>>(
            ct => StoredAsync(db, change, ct),
            async ct =>
            {
                change = null;
                if (await LockAsync<TEntity>(db, caller, id, ct) is not { } entity)
                {
                    return ApiErrors.NotFound(http, kind.Name, id);
                }

                if (kind.InUse is not null && await kind.InUse(db, caller, id, ct))
                {
                    return ApiErrors.Conflict(http, $"{kind.Name}_in_use", $"The {kind.Name} '{id}' is still referenced; remove the references first.");
                }

                var response = await kind.RespondAsync(db, caller, entity, ct);
                db.RemoveRange(kind.RowsOwnedBy(entity));
                db.Remove(entity);
                db.Events.Add(change = NewEvent(eventId, caller, kind.DeleteEvent, id, kind.Serialize(response), now));
                await db.SaveChangesAsync(ct);
                return TypedResults.Accepted((string?)null, DeletedResponse.Of(entity.Id, kind.Name, caller.LiveMode));
            },
            inTransaction: true,
            cancellationToken);
        if (change is not null)
        {
            EventsCommitted(http);
        }

        return result;
    }

    private static void EventsCommitted(HttpContext http) => http.RequestServices.GetRequiredService<FeedSignal>().Committed();

    /// <summary>
    /// Runs a write once, even when a transient fault hides whether it committed: EF's retrying strategy tries again,
    /// but first asks <paramref name="stored"/> whether the attempt's write is there (for a change, its event); if it
    /// is, that attempt committed and its result stands. A write refused by a foreign key (a reference created or
    /// deleted meanwhile) runs again, and its checks then see the reference as it now is. With
    /// <paramref name="inTransaction"/>, the write runs in a transaction (for a lock and reads under it before the change).
    /// </summary>
    public static Task<T> WriteOnceAsync<T>(
        this DevicesDbContext db, Func<CancellationToken, Task<bool>> stored, Func<CancellationToken, Task<T>> write, bool inTransaction,
        CancellationToken cancellationToken)
    {
        const int ReferenceRetries = 3;
        // The result of the last attempt that reached its commit: the one that stands if that commit went through.
        T? written = default;
        var attempts = 0;
        async Task<T> Attempt(DbContext _, CancellationToken ct)
        {
            for (var referenceRetry = 1; ; referenceRetry++)
            {
                attempts++;
                db.ChangeTracker.Clear();
                try
                {
                    if (!inTransaction)
                    {
                        var result = await write(ct);
                        return written = result;
                    }

                    await using var transaction = await db.Database.BeginTransactionAsync(ct);
                    var outcome = await write(ct);
                    written = outcome;
                    await transaction.CommitAsync(ct);
                    return outcome;
                }
                catch (Exception e) when (Violated(e, PostgresErrorCodes.UniqueViolation) && attempts > 1)
                {
                    // An earlier attempt's commit became visible only after the check before this retry: it stands.
                    if (await stored(ct))
                    {
                        return written!;
                    }

                    throw;
                }
                catch (Exception e) when (Violated(e, PostgresErrorCodes.ForeignKeyViolation) && referenceRetry < ReferenceRetries)
                {
                    // A reference changed between the check and the save: check again.
                }
                finally
                {
                    db.ChangeTracker.Clear();
                }
            }
        }

        async Task<ExecutionResult<T>> Committed(DbContext _, CancellationToken ct) =>
            await stored(ct) ? new ExecutionResult<T>(true, written!) : new ExecutionResult<T>(false, default!);

        return db.Database.CreateExecutionStrategy().ExecuteAsync<DbContext, T>(db, Attempt, Committed, cancellationToken);
    }

    /// <summary>Whether the write of <paramref name="change"/>, if one was attempted, is stored: its event is there.</summary>
    private static async Task<bool> StoredAsync(DevicesDbContext db, ApiEvent? change, CancellationToken cancellationToken) =>
        change is not null &&
        await db.Events.AnyAsync(e => e.AccountId == change.AccountId && e.LiveMode == change.LiveMode && e.Id == change.Id, cancellationToken);

    private static bool Violated(Exception e, string sqlState) =>
        ErrorHandling.InChain(e, x => x is PostgresException p && p.SqlState == sqlState) is not null;

    private static ApiEvent NewEvent(string id, Caller caller, string type, string objectId, string json, DateTimeOffset now) => new()
    {
        Id = id,
        AccountId = caller.AccountId,
        LiveMode = caller.LiveMode,
        Type = type,
        ObjectId = objectId,
        Data = json,
        TimeCreated = now,
    };

    /// <summary>
    /// Reads the object for a change, after taking its turn among the object's writers: a transaction-level advisory
    /// lock on its id, which assigns no transaction id, so the writers' transaction ids (taken by their first write)
    /// follow the order they took turns, which is the event feed's order.
    /// </summary>
    private static async Task<TEntity?> LockAsync<TEntity>(DevicesDbContext db, Caller caller, string id, CancellationToken cancellationToken)
        where TEntity : class
    {
        await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtextextended({id}, 0))", cancellationToken);
        return await db.Set<TEntity>().AsTracking()
            .Where(e => EF.Property<string>(e, "AccountId") == caller.AccountId && EF.Property<bool>(e, "LiveMode") == caller.LiveMode && EF.Property<string>(e, "Id") == id)
            .SingleOrDefaultAsync(cancellationToken);
    }

    private static DateTimeOffset TimeOf(HttpContext http) =>
        http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().TruncateToSeconds();
}
