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

namespace Flatpeak.Devices.Api.Data;

/// <summary>
/// The SQL of one kind of object's writes (see <see cref="Changes"/>). <see cref="Create"/> and <see cref="Update"/>
/// return the index of the first object they reference that is not one of the account and mode (null when all are);
/// <see cref="Delete"/> returns how many rows went: 0 when the object is still in use.
/// </summary>
public interface IChangeStatements<TEntity>
    where TEntity : class
{
    EntityColumns<TEntity> Columns { get; }

    ChangeStatement Create { get; }

    ChangeStatement Update { get; }

    ChangeStatement Delete { get; }
}

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
/// <param name="Statements">Its write statements.</param>
/// <param name="RequestJson">Its create request, which is also what a patch is merged into and validated as.</param>
/// <param name="ResponseJson">The object on the wire.</param>
/// <param name="Apply">Writes a validated request's fields onto the entity.</param>
/// <param name="Respond">The object on the wire, from the entity and its embedded ids.</param>
/// <param name="EmbeddedIds">The query of the ids a page of these objects embed (a location's devices), given the account, mode and object ids; null when it embeds none.</param>
/// <param name="ReferenceNotFound">The 400 for a referenced object that is not the account's: given the entity and the index the statement returned.</param>
public sealed record ObjectKind<TEntity, TRequest, TResponse>(
    string Name,
    string Path,
    Func<DevicesDbContext, IChangeStatements<TEntity>> Statements,
    JsonTypeInfo<TRequest> RequestJson,
    JsonTypeInfo<TResponse> ResponseJson,
    Action<TRequest, TEntity> Apply,
    Func<TEntity, IReadOnlyList<string>, TResponse> Respond,
    Func<DevicesDbContext, string, bool, string[], IQueryable<EmbeddedId>>? EmbeddedIds,
    Func<HttpContext, TEntity, int, BadRequest<ApiError>> ReferenceNotFound)
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
}

/// <summary>
/// Create, merge-patch and delete for every kind of object, each one statement with its event (see <see cref="Changes"/>).
/// A patch or delete first locks the object (<see cref="EntityColumns{TEntity}.Lock"/>), so writers of one object take
/// turns and every event shows a state the object really had.
/// </summary>
public static class ObjectWrites
{
    public static async Task<Results<Created<TResponse>, BadRequest<ApiError>>> CreateAsync<TEntity, TRequest, TResponse>(
        ObjectKind<TEntity, TRequest, TResponse> kind, TEntity entity, DateTimeOffset now, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken)
        where TEntity : class, IHasObjectId
    {
        var response = kind.Respond(entity, []);
        var change = new ChangeEvent(caller.AccountId, caller.LiveMode, kind.CreateEvent, kind.Serialize(response), now);
        var claim = http.Features.Get<IdempotencyClaim>();
        var path = $"{kind.Path}/{entity.Id}";
        var statements = kind.Statements(db);
        var missing = await db.WriteOnceAsync(
            () => change,
            ct => db.ExecuteChangeAsync<int?>(statements.Create, statements.Columns.Parameters(entity), change, claim, (StatusCodes.Status201Created, path), ct),
            inTransaction: false,
            cancellationToken);
        if (missing is { } index)
        {
            return kind.ReferenceNotFound(http, entity, index);
        }

        claim?.ResponseStored = true;
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
        var statements = kind.Statements(db);
        ChangeEvent? change = null;
        return await db.WriteOnceAsync<Results<Ok<TResponse>, BadRequest<ApiError>, NotFound<ApiError>>>(
            () => change,
            async ct =>
            {
                change = null;
                if (await LockAsync(db, statements.Columns.Lock, statements, caller, id, ct) is not { } entity)
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

                kind.Apply(request!, entity);
                var updated = kind.Respond(entity, children);
                var json = kind.Serialize(updated);
                if (json == kind.Serialize(stored))
                {
                    return TypedResults.Ok(stored);
                }

                change = new ChangeEvent(caller.AccountId, caller.LiveMode, kind.UpdateEvent, json, TimeOf(http));
                var missing = await db.ExecuteChangeAsync<int?>(
                    statements.Update, statements.Columns.Parameters(entity), change, claim: null, (StatusCodes.Status200OK, null), ct);
                return missing is { } index ? kind.ReferenceNotFound(http, entity, index) : TypedResults.Ok(updated);
            },
            inTransaction: true,
            cancellationToken);
    }

    /// <summary>
    /// Deletes under the object's lock, so that the event shows the object exactly as it was when it went. An object that
    /// others still reference is refused with <c>409 &lt;name&gt;_in_use</c>: the referencing writes lock what they
    /// reference (<c>FOR KEY SHARE</c>), so none can slip in between the check and the delete.
    /// </summary>
    public static async Task<Results<Accepted<DeletedResponse>, NotFound<ApiError>, Conflict<ApiError>>> DeleteAsync<TEntity, TRequest, TResponse>(
        ObjectKind<TEntity, TRequest, TResponse> kind, string id, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken)
        where TEntity : class, IHasObjectId
    {
        var statements = kind.Statements(db);
        ChangeEvent? change = null;
        return await db.WriteOnceAsync<Results<Accepted<DeletedResponse>, NotFound<ApiError>, Conflict<ApiError>>>(
            () => change,
            async ct =>
            {
                change = null;
                if (await LockAsync(db, statements.Columns.LockToDelete, statements, caller, id, ct) is not { } entity)
                {
                    return ApiErrors.NotFound(http, kind.Name, id);
                }

                var response = await kind.RespondAsync(db, caller, entity, ct);
                change = new ChangeEvent(caller.AccountId, caller.LiveMode, kind.DeleteEvent, kind.Serialize(response), TimeOf(http));
                var deleted = await db.ExecuteChangeAsync<int>(
                    statements.Delete, statements.Columns.KeyParameters(entity), change, claim: null, (StatusCodes.Status202Accepted, null), ct);
                if (deleted == 0)
                {
                    change = null;
                    return ApiErrors.Conflict(http, $"{kind.Name}_in_use", $"The {kind.Name} '{id}' is still referenced; remove the references first.");
                }

                return TypedResults.Accepted((string?)null, DeletedResponse.Of(entity.Id, kind.Name, caller.LiveMode));
            },
            inTransaction: true,
            cancellationToken);
    }

    /// <summary>Reads the object, and makes the other writers of this object wait until the transaction ends.</summary>
    private static async Task<TEntity?> LockAsync<TEntity>(
        DevicesDbContext db, string lockStatement, IChangeStatements<TEntity> statements, Caller caller, string id, CancellationToken cancellationToken)
        where TEntity : class
    {
        var key = statements.Columns.KeyParameters(caller.AccountId, caller.LiveMode, id);
        return (await db.Set<TEntity>().FromSqlRaw(lockStatement, [.. key]).ToListAsync(cancellationToken)).SingleOrDefault();
    }

    private static DateTimeOffset TimeOf(HttpContext http) =>
        http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().TruncateToSeconds();
}
