using System.Security.Cryptography;
using System.Text.Json;
using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Common.Json;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Data.Batching;
using Flatpeak.Devices.Api.Idempotency;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.DeviceStates;

/// <summary>
/// Flatpeak's device state: <c>PUT /devices/{id}/state</c> (submit) and <c>GET /devices/{id}/state</c> (the record
/// with the newest <c>time</c>), and ours, <c>GET /devices/{id}/states</c> (the history, newest <c>time</c> first).
/// </summary>
public static class DeviceStateEndpoints
{
    public static IServiceCollection AddDeviceStates(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DeviceStateOptions>().Bind(configuration.GetSection(DeviceStateOptions.Section));
        services.AddSingleton<DeviceStatePartitions>();
        services.AddHostedService(provider => provider.GetRequiredService<DeviceStatePartitions>());
        return services
            .AddSingleton<IValidator<SubmitDeviceStateRequest>, SubmitDeviceStateRequestValidator>()
            .AddSingleton<IValidator<DeviceStateListQuery>, DeviceStateListQueryValidator>()
            .AddBatchedWrite<DeviceStateSubmission, DeviceStateOutcome, DeviceStateWrites>();
    }

    public static IEndpointRouteBuilder MapDeviceStates(this IEndpointRouteBuilder routes)
    {
        var device = routes.MapGroup("/devices/{id}").WithTags("Device state").RequireAuthorization()
            .ProducesErrorsOfAuthenticatedEndpoints().WithStrictQuery();
        device.MapPut("/state", Submit).WithName("device_state_submit").WithSummary("Submit a device state")
            .WithDescription("Stores what the device reports. The same record_reference_id again stores nothing and answers the first record's id.")
            .WithValidation<SubmitDeviceStateRequest>().ProducesBodyErrors().WithIdempotency<SubmitDeviceStateRequest>()
            .ProducesApiError(StatusCodes.Status404NotFound, StatusCodes.Status422UnprocessableEntity);
        device.MapGet("/state", Get).WithName("device_state_get").WithSummary("Retrieve a device state")
            .WithDescription("The stored record with the newest time (not the latest to arrive).")
            .ProducesApiError(StatusCodes.Status404NotFound);
        device.MapGet("/states", List).WithName("device_state_list").WithSummary("List a device's states, newest time first")
            .WithValidation<DeviceStateListQuery>().ProducesApiError(StatusCodes.Status404NotFound);
        return routes;
    }

    /// <summary>
    /// Stores the record in a statement shared with the submissions beside it (<see cref="DeviceStateWrites"/>), and
    /// answers once it has committed; a <c>record_reference_id</c> used before answers its first record.
    /// </summary>
    public static async Task<Results<Ok<DeviceStateSubmitted>, BadRequest<ApiError>, NotFound<ApiError>, JsonHttpResult<ApiError>>> Submit(
        string id, SubmitDeviceStateRequest request, Caller caller, WriteBatcher<DeviceStateSubmission, DeviceStateOutcome> states,
        DevicesDbContext db, TimeProvider time, HttpContext http, CancellationToken cancellationToken)
    {
        if (!ObjectIds.IsValid(id, ObjectIds.Device))
        {
            return ApiErrors.NotFound(http, "device", id);
        }

        var measured = request.Time!.Value;
        var state = new DeviceState
        {
            AccountId = caller.AccountId,
            LiveMode = caller.LiveMode,
            DeviceId = id,
            Time = measured,
            // Ids carry the record's time (to the second), so the history's cursors find their record in one index range.
            Id = ObjectIds.New(ObjectIds.DeviceState, measured),
            StateOfChargePercent = request.StateOfChargePercent!.Value,
            TargetStateOfChargePercent = request.TargetStateOfChargePercent!.Value,
            BatteryPowerKw = request.BatteryPowerKw,
            EnergyRemainingKwh = request.EnergyRemainingKwh,
            BackupReservePercent = request.BackupReservePercent,
            EnergyFlowDirection = request.EnergyFlowDirection,
            RecordReferenceId = request.RecordReferenceId,
            LocationId = request.LocationId,
            TimeCreated = time.GetUtcNow().TruncateToSeconds(),
        };
        var hash = SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(request, ApiJsonContext.Default.SubmitDeviceStateRequest));
        var outcome = await states.WriteAsync(new DeviceStateSubmission(state, hash), cancellationToken);
        if (outcome.Result == DeviceStateOutcome.Raced)
        {
            outcome = await ReferencedAsync(db, state, hash, cancellationToken);
        }

        return outcome.Result switch
        {
            DeviceStateOutcome.Created or DeviceStateOutcome.Replayed =>
                TypedResults.Ok(new DeviceStateSubmitted(outcome.Id!, DeviceStateResponse.ObjectName, id, caller.AccountId, caller.LiveMode, outcome.TimeCreated!.Value)),
            DeviceStateOutcome.Reused => ApiErrors.Json(http, StatusCodes.Status422UnprocessableEntity, "record_reference_id_reused",
                $"The record_reference_id '{request.RecordReferenceId}' was sent before with other values; send a new one for a new record.", "record_reference_id"),
            DeviceStateOutcome.DeviceNotFound => ApiErrors.NotFound(http, "device", id),
            DeviceStateOutcome.LocationNotFound => ApiErrors.BadRequest(http, "location_not_found",
                $"'{request.LocationId}' is not one of the device's locations.", "location_id"),
            var other => throw new InvalidOperationException($"A state submission ended as '{other}'."),
        };
    }

    public static async Task<Results<Ok<DeviceStateResponse>, NotFound<ApiError>>> Get(
        string id, Caller caller, DevicesDbContext db, DeviceStatePartitions partitions, HttpContext http, CancellationToken cancellationToken)
    {
        if (!await DeviceExistsAsync(db, caller, id, cancellationToken))
        {
            return ApiErrors.NotFound(http, "device", id);
        }

        var newest = await WithGenericPlanAsync(db, ct =>
            Of(db, caller, id, partitions.Horizon).OrderByDescending(s => s.Time).ThenByDescending(s => s.Id).FirstOrDefaultAsync(ct), cancellationToken);
        return newest is null
            ? TypedResults.NotFound(ApiErrors.Create(http, StatusCodes.Status404NotFound, "device_state_not_found", $"The device '{id}' has reported no state yet."))
            : TypedResults.Ok(DeviceStateResponse.From(newest));
    }

    /// <summary>
    /// The history, newest <c>time</c> first. A cursor is a record's id; the page goes on from that record's place in
    /// <c>(time, id)</c> order, found through the time its id carries.
    /// </summary>
    public static async Task<Results<Ok<ListResponse<DeviceStateResponse>>, BadRequest<ApiError>, NotFound<ApiError>>> List(
        string id, [AsParameters] DeviceStateListQuery query, Caller caller, DevicesDbContext db, DeviceStatePartitions partitions, HttpContext http,
        CancellationToken cancellationToken)
    {
        if (!await DeviceExistsAsync(db, caller, id, cancellationToken))
        {
            return ApiErrors.NotFound(http, "device", id);
        }

        var states = Of(db, caller, id, partitions.Horizon);
        if (query.TimeFrom is not null && UtcTimestampConverter.TryParse(query.TimeFrom, out var from))
        {
            states = states.Where(s => s.Time >= from);
        }

        if (query.TimeTo is not null && UtcTimestampConverter.TryParse(query.TimeTo, out var to))
        {
            states = states.Where(s => s.Time <= to);
        }

        var limit = Paging.LimitOf(query);
        var cursorId = query.StartingAfter ?? query.EndingBefore;
        DeviceState? cursor = null;
        if (cursorId is not null)
        {
            var second = ObjectIds.TimeOf(cursorId);
            cursor = await WithGenericPlanAsync(db, ct => Of(db, caller, id, partitions.Horizon)
                .Where(s => s.Time >= second && s.Time < second.AddSeconds(1) && s.Id == cursorId)
                .SingleOrDefaultAsync(ct), cancellationToken);
            if (cursor is null)
            {
                var param = query.StartingAfter is not null ? "starting_after" : "ending_before";
                return ApiErrors.BadRequest(http, param + "_invalid", $"No such state record of this device: '{cursorId}'.", param);
            }
        }

        List<DeviceState> page;
        bool hasMore;
        if (query.EndingBefore is not null)
        {
            var newer = await WithGenericPlanAsync(db, ct => states
                .Where(s => s.Time > cursor!.Time || (s.Time == cursor.Time && s.Id.CompareTo(cursor.Id) > 0))
                .OrderBy(s => s.Time).ThenBy(s => s.Id).Take(limit + 1).ToListAsync(ct), cancellationToken);
            hasMore = newer.Count > limit;
            page = [.. newer.Take(limit)];
            page.Reverse();
        }
        else
        {
            if (cursor is not null)
            {
                states = states.Where(s => s.Time < cursor.Time || (s.Time == cursor.Time && s.Id.CompareTo(cursor.Id) < 0));
            }

            var rows = await WithGenericPlanAsync(db, ct =>
                states.OrderByDescending(s => s.Time).ThenByDescending(s => s.Id).Take(limit + 1).ToListAsync(ct), cancellationToken);
            hasMore = rows.Count > limit;
            page = [.. rows.Take(limit)];
        }

        return TypedResults.Ok(new Page<DeviceState>(page, hasMore).ToListResponse($"/devices/{id}/states", DeviceStateResponse.From));
    }

    /// <summary>After another transaction won the same <c>record_reference_id</c> during the statement: its record answers.</summary>
    private static async Task<DeviceStateOutcome> ReferencedAsync(DevicesDbContext db, DeviceState state, byte[] hash, CancellationToken cancellationToken)
    {
        var reference = await db.DeviceStateReferences
            .SingleAsync(
                r => r.AccountId == state.AccountId && r.LiveMode == state.LiveMode && r.DeviceId == state.DeviceId && r.RecordReferenceId == state.RecordReferenceId,
                cancellationToken);
        return new DeviceStateOutcome(
            reference.RequestHash.AsSpan().SequenceEqual(hash) ? DeviceStateOutcome.Replayed : DeviceStateOutcome.Reused, reference.StateId, reference.TimeCreated);
    }

    /// <summary>
    /// Runs a read of <c>device_states</c> with PostgreSQL's generic plan. Over a dozen monthly partitions, a custom
    /// plan costs ~1 ms of planning per execution and the query itself 0.1 ms; the generic plan prunes the partitions
    /// at run time, and its estimate (which cannot prune) would otherwise keep PostgreSQL choosing custom plans.
    /// </summary>
    private static Task<T> WithGenericPlanAsync<T>(DevicesDbContext db, Func<CancellationToken, Task<T>> read, CancellationToken cancellationToken) =>
        db.Database.CreateExecutionStrategy().ExecuteAsync(
            async ct =>
            {
                await using var transaction = await db.Database.BeginTransactionAsync(ct);
                await db.Database.ExecuteSqlRawAsync("SET LOCAL plan_cache_mode = force_generic_plan", ct);
                var result = await read(ct);
                await transaction.CommitAsync(ct);
                return result;
            },
            cancellationToken);

    private static Task<bool> DeviceExistsAsync(DevicesDbContext db, Caller caller, string id, CancellationToken cancellationToken) =>
        db.Devices.AnyAsync(d => d.AccountId == caller.AccountId && d.LiveMode == caller.LiveMode && d.Id == id, cancellationToken);

    /// <summary>The device's records within the retention (an expired one is not served, even before its partition is dropped).</summary>
    private static IQueryable<DeviceState> Of(DevicesDbContext db, Caller caller, string deviceId, DateTimeOffset horizon) =>
        db.DeviceStates.Where(s => s.AccountId == caller.AccountId && s.LiveMode == caller.LiveMode && s.DeviceId == deviceId && s.Time >= horizon);
}
