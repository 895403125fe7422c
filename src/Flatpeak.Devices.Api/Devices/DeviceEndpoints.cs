using System.Text.Json;
using System.Text.Json.Nodes;
using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Common.Json;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Events;
using Flatpeak.Devices.Api.Idempotency;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Devices;

public static class DeviceEndpoints
{
    public static IServiceCollection AddDevices(this IServiceCollection services) =>
        services
            .AddSingleton<IValidator<CreateDeviceRequest>, CreateDeviceRequestValidator>()
            .AddSingleton<IValidator<DeviceListQuery>, DeviceListQueryValidator>();

    public static IEndpointRouteBuilder MapDevices(this IEndpointRouteBuilder routes)
    {
        var devices = routes.MapGroup("/devices").WithTags("Devices").RequireAuthorization()
            .ProducesErrorsOfAuthenticatedEndpoints().WithStrictQuery();

        devices.MapPost("/", Create)
            .WithName("device_create")
            .WithSummary("Create a device")
            .WithDescription("Registers a device (an EV charger, a car, a home battery, a solar system…) at one or more of your locations.")
            .WithValidation<CreateDeviceRequest>()
            .ProducesBodyErrors()
            .WithIdempotency<CreateDeviceRequest>();

        devices.MapGet("/", List)
            .WithName("device_list")
            .WithSummary("List devices, newest first")
            .WithValidation<DeviceListQuery>();

        devices.MapGet("/{id}", Get)
            .WithName("device_get")
            .WithSummary("Retrieve a device")
            .ProducesApiError(StatusCodes.Status404NotFound);

        devices.MapPatch("/{id}", Update)
            .WithName("device_update")
            .WithSummary("Update a device")
            .WithDescription("Changes only the fields sent; null clears an optional field.")
            .WithPatchValidation<CreateDeviceRequest>()
            .ProducesBodyErrors()
            .ProducesApiError(StatusCodes.Status404NotFound);

        devices.MapDelete("/{id}", Delete)
            .WithName("device_delete")
            .WithSummary("Delete a device")
            .ProducesApiError(StatusCodes.Status404NotFound);

        return routes;
    }

    public static async Task<Results<Created<DeviceResponse>, BadRequest<ApiError>>> Create(
        CreateDeviceRequest request, Caller caller, DevicesDbContext db, TimeProvider time, HttpContext http, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().TruncateToSeconds();
        var device = new Device
        {
            Id = ObjectIds.New(ObjectIds.Device, now),
            AccountId = caller.AccountId,
            LiveMode = caller.LiveMode,
            ReferenceId = null!,
            Type = null!,
            LocationIds = null!,
            TimeCreated = now,
        };
        request.ApplyTo(device);
        var response = DeviceResponse.From(device);
        var change = new ChangeEvent(caller.AccountId, caller.LiveMode, EventTypes.DeviceCreate, Serialize(response), now);
        var claim = http.Features.Get<IdempotencyClaim>();
        var location = $"/devices/{device.Id}";

        var statements = DeviceStatements.For(db);
        var missing = await db.WriteOnceAsync(
            () => change,
            ct => db.ExecuteChangeAsync<int?>(statements.Create, statements.Columns.Parameters(device), change, claim, (StatusCodes.Status201Created, location), ct),
            inTransaction: false,
            cancellationToken);
        if (missing is { } index)
        {
            return LocationNotFound(http, device.LocationIds, index);
        }

        claim?.ResponseStored = true;
        return TypedResults.Created(location, response);
    }

    public static async Task<Ok<ListResponse<DeviceResponse>>> List(
        [AsParameters] DeviceListQuery query, Caller caller, DevicesDbContext db, CancellationToken cancellationToken)
    {
        var devices = db.Devices.Where(d => d.AccountId == caller.AccountId && d.LiveMode == caller.LiveMode);
        if (query.ReferenceId is not null)
        {
            devices = devices.Where(d => d.ReferenceId == query.ReferenceId);
        }

        if (query.LocationId is not null)
        {
            devices = devices.Where(d => d.LocationIds.Contains(query.LocationId));
        }

        var page = await devices.PageAsync(query, cancellationToken);
        return TypedResults.Ok(page.ToListResponse("/devices", DeviceResponse.From));
    }

    public static async Task<Results<Ok<DeviceResponse>, NotFound<ApiError>>> Get(
        string id, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken)
    {
        var device = await Owned(db, caller, id).SingleOrDefaultAsync(cancellationToken);
        return device is null ? ApiErrors.NotFound(http, "device", id) : TypedResults.Ok(DeviceResponse.From(device));
    }

    /// <summary>
    /// A JSON merge patch (RFC 7396) of the device, under a row lock: the patch is merged into the device as stored,
    /// validated by the rules of a create, and written with its event, so that concurrent patches apply one after the other.
    /// </summary>
    public static async Task<Results<Ok<DeviceResponse>, BadRequest<ApiError>, NotFound<ApiError>>> Update(
        string id, JsonElement body, Caller caller, DevicesDbContext db, TimeProvider time, HttpContext http, CancellationToken cancellationToken)
    {
        // The body check has refused duplicates and broken JSON, and the patch filter anything but an object.
        var patch = JsonObject.Create(body)!;
        var statements = DeviceStatements.For(db);
        ChangeEvent? change = null;
        return await db.WriteOnceAsync<Results<Ok<DeviceResponse>, BadRequest<ApiError>, NotFound<ApiError>>>(
            () => change,
            async ct =>
            {
                change = null;
                if (await LockAsync(db, statements, caller, id, ct) is not { } device)
                {
                    return ApiErrors.NotFound(http, "device", id);
                }

                var stored = DeviceResponse.From(device);
                var merged = MergePatch.Apply(
                    MergePatch.Writable(stored, ApiJsonContext.Default.DeviceResponse, ApiJsonContext.Default.CreateDeviceRequest), patch);
                var (request, invalid) = await PatchValidation.ReadMergedAsync<CreateDeviceRequest>(http, merged, patch, ct);
                if (invalid is not null)
                {
                    return invalid;
                }

                request!.ApplyTo(device);
                var updated = DeviceResponse.From(device);
                var json = Serialize(updated);
                if (json == Serialize(stored))
                {
                    return TypedResults.Ok(stored);
                }

                change = new ChangeEvent(caller.AccountId, caller.LiveMode, EventTypes.DeviceUpdate, json, time.GetUtcNow().TruncateToSeconds());
                var missing = await db.ExecuteChangeAsync<int?>(
                    statements.Update, statements.Columns.Parameters(device), change, claim: null, (StatusCodes.Status200OK, null), ct);
                return missing is { } index ? LocationNotFound(http, device.LocationIds, index) : TypedResults.Ok(updated);
            },
            inTransaction: true,
            cancellationToken);
    }

    /// <summary>Deletes under a row lock, so that the event shows the device exactly as it was when it went.</summary>
    public static async Task<Results<Ok<DeletedDeviceResponse>, NotFound<ApiError>>> Delete(
        string id, Caller caller, DevicesDbContext db, TimeProvider time, HttpContext http, CancellationToken cancellationToken)
    {
        var statements = DeviceStatements.For(db);
        ChangeEvent? change = null;
        return await db.WriteOnceAsync<Results<Ok<DeletedDeviceResponse>, NotFound<ApiError>>>(
            () => change,
            async ct =>
            {
                change = null;
                if (await LockAsync(db, statements, caller, id, ct) is not { } device)
                {
                    return ApiErrors.NotFound(http, "device", id);
                }

                change = new ChangeEvent(caller.AccountId, caller.LiveMode, EventTypes.DeviceDelete, Serialize(DeviceResponse.From(device)), time.GetUtcNow().TruncateToSeconds());
                await db.ExecuteChangeAsync<int>(statements.Delete, statements.Columns.KeyParameters(device), change, claim: null, (StatusCodes.Status200OK, null), ct);
                return TypedResults.Ok(new DeletedDeviceResponse(device.Id, "device", device.LiveMode, Deleted: true));
            },
            inTransaction: true,
            cancellationToken);
    }

    private static IQueryable<Device> Owned(DevicesDbContext db, Caller caller, string id) =>
        db.Devices.Where(d => d.AccountId == caller.AccountId && d.LiveMode == caller.LiveMode && d.Id == id);

    /// <summary>Reads the device, and makes the other writers of this device wait until the transaction ends.</summary>
    private static async Task<Device?> LockAsync(DevicesDbContext db, DeviceStatements statements, Caller caller, string id, CancellationToken cancellationToken)
    {
        var key = statements.Columns.KeyParameters(caller.AccountId, caller.LiveMode, id);
        return (await db.Devices.FromSqlRaw(statements.Columns.Lock, [.. key]).ToListAsync(cancellationToken)).SingleOrDefault();
    }

    private static BadRequest<ApiError> LocationNotFound(HttpContext http, List<string> locationIds, int index) =>
        ApiErrors.BadRequest(http, "location_not_found", $"No such location: '{locationIds[index]}'.", $"locations[{index}]");

    private static string Serialize(DeviceResponse device) => JsonSerializer.Serialize(device, ApiJsonContext.Default.DeviceResponse);
}
