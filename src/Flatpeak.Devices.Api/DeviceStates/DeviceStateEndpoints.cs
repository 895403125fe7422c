using System.Security.Cryptography;
using System.Text.Json;
using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Common.Json;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Data.Batching;
using Flatpeak.Devices.Api.Data.Partitions;
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
        return services
            .AddSingleton<IValidator<SubmitDeviceStateRequest>, SubmitDeviceStateRequestValidator>()
            .AddSingleton<IValidator<DeviceStateListQuery>, DeviceStateListQueryValidator>()
            .AddSingleton<DeviceStateReads>()
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
        var answer = new DeviceStateSubmitted(state.Id, DeviceStateResponse.ObjectName, id, caller.AccountId, caller.LiveMode, state.TimeCreated);
        var outcome = await states.WriteAsync(
            new DeviceStateSubmission(state, hash, JsonSerializer.Serialize(answer, ApiJsonContext.Default.DeviceStateSubmitted), http.Features.Get<IdempotencyClaim>()?.Key),
            cancellationToken);
        if (outcome.Result == DeviceStateOutcome.Raced)
        {
            outcome = await ReferencedAsync(db, state, hash, cancellationToken);
        }

        return outcome.Result switch
        {
            DeviceStateOutcome.Created => Stored(http, answer),
            // Nothing new was stored: the filter stores this answer as the key's replay, after.
            DeviceStateOutcome.Replayed => TypedResults.Ok(answer with { Id = outcome.Id!, TimeCreated = outcome.TimeCreated!.Value }),
            DeviceStateOutcome.Reused => ApiErrors.Json(http, StatusCodes.Status422UnprocessableEntity, "record_reference_id_reused",
                $"The record_reference_id '{request.RecordReferenceId}' was sent before with other values; send a new one for a new record.", "record_reference_id"),
            DeviceStateOutcome.DeviceNotFound => ApiErrors.NotFound(http, "device", id),
            DeviceStateOutcome.LocationNotFound => ApiErrors.BadRequest(http, "location_not_found",
                $"'{request.LocationId}' is not one of the device's locations.", "location_id"),
            var other => throw new InvalidOperationException($"A state submission ended as '{other}'."),
        };
    }

    private static Ok<DeviceStateSubmitted> Stored(HttpContext http, DeviceStateSubmitted answer)
    {
        IdempotencyClaim.Committed(http);
        return TypedResults.Ok(answer);
    }

    public static async Task<Results<Ok<DeviceStateResponse>, NotFound<ApiError>>> Get(
        string id, Caller caller, DeviceStateReads reads, PartitionMaintenance partitions, TimeProvider time, HttpContext http,
        CancellationToken cancellationToken)
    {
        var newest = await reads.PageAsync(
            new DeviceStatePageQuery(
                caller.AccountId, caller.LiveMode, id, partitions.DeviceStatesHorizon, DeviceStateReads.NewestPossible(time.GetUtcNow()), CursorId: null, Newer: false, Limit: 1),
            cancellationToken);
        if (!newest.DeviceFound)
        {
            return ApiErrors.NotFound(http, "device", id);
        }

        return newest.Records is [var record, ..]
            ? TypedResults.Ok(record)
            : TypedResults.NotFound(ApiErrors.Create(http, StatusCodes.Status404NotFound, "device_state_not_found", $"The device '{id}' has reported no state yet."));
    }

    /// <summary>
    /// The history, newest <c>time</c> first. A cursor is a record's id; the page goes on from that record's place in
    /// <c>(time, id)</c> order, found through the time its id carries. Expired records are not served, even before their
    /// partition is dropped.
    /// </summary>
    public static async Task<Results<Ok<ListResponse<DeviceStateResponse>>, BadRequest<ApiError>, NotFound<ApiError>>> List(
        string id, [AsParameters] DeviceStateListQuery query, Caller caller, DeviceStateReads reads, PartitionMaintenance partitions, TimeProvider time,
        HttpContext http, CancellationToken cancellationToken)
    {
        var from = partitions.DeviceStatesHorizon;
        if (query.TimeFrom is not null && UtcTimestampConverter.TryParse(query.TimeFrom, out var timeFrom) && timeFrom > from)
        {
            from = timeFrom;
        }

        var to = DeviceStateReads.NewestPossible(time.GetUtcNow());
        if (query.TimeTo is not null && UtcTimestampConverter.TryParse(query.TimeTo, out var timeTo) && timeTo < to)
        {
            to = timeTo;
        }

        var cursorId = query.StartingAfter ?? query.EndingBefore;
        var page = await reads.PageAsync(
            new DeviceStatePageQuery(caller.AccountId, caller.LiveMode, id, from, to, cursorId, Newer: query.EndingBefore is not null, Paging.LimitOf(query)),
            cancellationToken);
        if (!page.DeviceFound)
        {
            return ApiErrors.NotFound(http, "device", id);
        }

        if (cursorId is not null && !page.CursorFound)
        {
            var param = query.StartingAfter is not null ? "starting_after" : "ending_before";
            return ApiErrors.BadRequest(http, param + "_invalid", $"No such state record of this device: '{cursorId}'.", param);
        }

        return TypedResults.Ok(new ListResponse<DeviceStateResponse>("list", $"/devices/{id}/states", page.HasMore, page.Records));
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
}
