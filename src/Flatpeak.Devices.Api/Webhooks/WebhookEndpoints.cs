using System.Text.Json;
using System.Text.Json.Nodes;
using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Common.Json;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Idempotency;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Webhooks;

/// <summary>
/// Webhook endpoints (configuration objects: written through EF Core in a transaction, without events), their
/// deliveries, and the public signing keys.
/// </summary>
public static class WebhookEndpoints
{
    public static IServiceCollection AddWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WebhookOptions>().Bind(configuration.GetSection(WebhookOptions.Section))
            .Validate(o => o.Schedule.Count > 0 && o.Schedule.Zip(o.Schedule.Skip(1)).All(p => p.First <= p.Second) && o.Schedule[0] >= TimeSpan.Zero,
                "Webhooks:RetrySchedule must be delays from the event in increasing order.")
            .ValidateDataAnnotations()
            .ValidateOnStart();
        return services
            .AddHttpContextAccessor()
            .AddWebhookHttpClient()
            .AddSingleton<WebhookSigning>()
            .AddSingleton<WebhookWakeUp>()
            .AddSingleton<WebhookMetrics>()
            .AddHostedService<WebhookEngine>()
            .AddSingleton<IValidator<CreateWebhookRequest>, CreateWebhookRequestValidator>()
            .AddSingleton<IValidator<WebhookListQuery>, WebhookListQueryValidator>()
            .AddSingleton<IValidator<WebhookDeliveryListQuery>, WebhookDeliveryListQueryValidator>();
    }

    public static IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder routes)
    {
        var webhooks = routes.MapObjectRoutes<CreateWebhookRequest, WebhookListQuery>("webhook", "/webhooks", "Webhooks", Create, List, Get, Update, Delete);
        webhooks.Create.WithDescription($"At most {WebhookRules.MaxPerAccountAndMode} per account and mode.");
        webhooks.Update.WithDescription("A JSON merge patch of url, enabled_events, description and status.");
        webhooks.Delete.WithDescription("Its pending deliveries are dropped.");

        var deliveries = routes.MapGroup("/webhooks/{id}/deliveries").WithTags("Webhooks").RequireAuthorization()
            .ProducesErrorsOfAuthenticatedEndpoints().WithStrictQuery();
        deliveries.MapGet("/", ListDeliveries)
            .WithName("webhook_delivery_list")
            .WithSummary("List the deliveries of a webhook endpoint, newest first")
            .WithValidation<WebhookDeliveryListQuery>()
            .ProducesApiError(StatusCodes.Status404NotFound);
        deliveries.MapPost("/{delivery_id}/retry", Retry)
            .WithName("webhook_delivery_retry")
            .WithSummary("Send a delivery again now")
            .WithDescription("The attempt is made in the background at once; the delivery shows its outcome.")
            .ProducesApiError(StatusCodes.Status404NotFound);

        routes.MapGet("/jwks.json", PublicKeys)
            .WithName("jwks")
            .WithTags("Webhooks")
            .WithSummary("The public keys that sign webhook deliveries (JWK Set)")
            .WithDescription("Public and cacheable (5 minutes). During a key rotation both keys are listed.")
            .AllowAnonymous()
            .WithStrictQuery();
        return routes;
    }

    public static async Task<Results<Created<WebhookResponse>, BadRequest<ApiError>>> Create(
        CreateWebhookRequest request, Caller caller, DevicesDbContext db, TimeProvider time, HttpContext http, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().TruncateToSeconds();
        var webhook = new Webhook
        {
            Id = ObjectIds.New(ObjectIds.Webhook, now),
            AccountId = caller.AccountId,
            LiveMode = caller.LiveMode,
            Url = null!,
            EnabledEvents = null!,
            Status = WebhookRules.Enabled,
            TimeCreated = now,
        };
        request.ApplyTo(webhook);
        var response = WebhookResponse.From(webhook);
        var created = await db.WriteOnceAsync(ct => Owned(db, caller).AnyAsync(w => w.Id == webhook.Id, ct), async ct =>
        {
            // Creates of one account and mode take turns, so that the count below sees every one before it.
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtextextended({"webhooks:" + caller.AccountId + ":" + caller.LiveMode}, 0))", ct);
            if (await Owned(db, caller).CountAsync(ct) >= WebhookRules.MaxPerAccountAndMode)
            {
                return false;
            }

            db.Webhooks.Add(webhook);
            // The replay of an Idempotency-Key commits with the endpoint, or neither does: a retry never makes a second one.
            IdempotencyClaim.TrackResponse(
                http, db, caller, StatusCodes.Status201Created, JsonSerializer.Serialize(response, ApiJsonContext.Default.WebhookResponse), Location(webhook));
            await db.SaveChangesAsync(ct);
            await WebhookDeliveryStatements.StartPositionAsync(db, caller.AccountId, caller.LiveMode, webhook.Id, ct);
            return true;
        }, inTransaction: true, cancellationToken);
        if (!created)
        {
            return ApiErrors.BadRequest(http, "webhook_limit_reached", $"An account has at most {WebhookRules.MaxPerAccountAndMode} webhook endpoints in each mode.");
        }

        IdempotencyClaim.Committed(http);
        return TypedResults.Created(Location(webhook), response);
    }

    private static string Location(Webhook webhook) => $"/webhooks/{webhook.Id}";

    /// <summary>A patch or delete of an endpoint leaves nothing to look for after a lost acknowledgement: it is made again (it is idempotent).</summary>
    private static Task<bool> Unverifiable(CancellationToken cancellationToken) => Task.FromResult(false);

    public static async Task<Ok<ListResponse<WebhookResponse>>> List(
        [AsParameters] WebhookListQuery query, Caller caller, DevicesDbContext db, CancellationToken cancellationToken)
    {
        var page = await Owned(db, caller).PageAsync(query, cancellationToken);
        return TypedResults.Ok(page.ToListResponse("/webhooks", WebhookResponse.From));
    }

    public static async Task<Results<Ok<WebhookResponse>, NotFound<ApiError>>> Get(
        string id, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken) =>
        await Owned(db, caller).SingleOrDefaultAsync(w => w.Id == id, cancellationToken) is { } webhook
            ? TypedResults.Ok(WebhookResponse.From(webhook))
            : ApiErrors.NotFound(http, "webhook", id);

    /// <summary>A JSON merge patch under a row lock, validated by the rules of a create.</summary>
    public static async Task<Results<Ok<WebhookResponse>, BadRequest<ApiError>, NotFound<ApiError>>> Update(
        string id, JsonElement body, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken)
    {
        var patch = JsonObject.Create(body)!;
        return await db.WriteOnceAsync<Results<Ok<WebhookResponse>, BadRequest<ApiError>, NotFound<ApiError>>>(Unverifiable, async ct =>
        {
            if (await LockAsync(db, caller, id, ct) is not { } webhook)
            {
                return ApiErrors.NotFound(http, "webhook", id);
            }

            var merged = MergePatch.Apply(
                MergePatch.Writable(WebhookResponse.From(webhook), ApiJsonContext.Default.WebhookResponse, ApiJsonContext.Default.CreateWebhookRequest), patch);
            var (request, invalid) = await PatchValidation.ReadMergedAsync<CreateWebhookRequest>(http, merged, patch, ct);
            if (invalid is not null)
            {
                return invalid;
            }

            request!.ApplyTo(webhook);
            await db.SaveChangesAsync(ct);
            return TypedResults.Ok(WebhookResponse.From(webhook));
        }, inTransaction: true, cancellationToken);
    }

    /// <summary>Answers as every other delete does: <c>202</c> with <see cref="DeletedResponse"/>.</summary>
    public static async Task<Results<Accepted<DeletedResponse>, NotFound<ApiError>>> Delete(
        string id, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken) =>
        await db.WriteOnceAsync<Results<Accepted<DeletedResponse>, NotFound<ApiError>>>(Unverifiable, async ct =>
        {
            if (await LockAsync(db, caller, id, ct) is null)
            {
                return ApiErrors.NotFound(http, "webhook", id);
            }

            await db.WebhookDeliveries.Where(d => d.AccountId == caller.AccountId && d.LiveMode == caller.LiveMode && d.WebhookId == id).ExecuteDeleteAsync(ct);
            await Owned(db, caller).Where(w => w.Id == id).ExecuteDeleteAsync(ct);
            return TypedResults.Accepted((string?)null, DeletedResponse.Of(id, "webhook", caller.LiveMode));
        }, inTransaction: true, cancellationToken);

    public static async Task<Results<Ok<ListResponse<WebhookDeliveryResponse>>, NotFound<ApiError>>> ListDeliveries(
        string id, [AsParameters] WebhookDeliveryListQuery query, Caller caller, DevicesDbContext db, HttpContext http, CancellationToken cancellationToken)
    {
        if (!await Owned(db, caller).AnyAsync(w => w.Id == id, cancellationToken))
        {
            return ApiErrors.NotFound(http, "webhook", id);
        }

        var page = await Deliveries(db, caller, id).PageAsync(query, cancellationToken);
        return TypedResults.Ok(page.ToListResponse($"/webhooks/{id}/deliveries", WebhookDeliveryResponse.From));
    }

    /// <summary>
    /// Makes the delivery due now (again pending); refused while an attempt of it is in flight, and once it has
    /// succeeded (there is nothing left to deliver).
    /// </summary>
    public static async Task<Results<Ok<WebhookDeliveryResponse>, NotFound<ApiError>, Conflict<ApiError>>> Retry(
        string id, [Microsoft.AspNetCore.Mvc.FromRoute(Name = "delivery_id")] string deliveryId, Caller caller, DevicesDbContext db, WebhookWakeUp wakeUp, HttpContext http, CancellationToken cancellationToken)
    {
        // The database's clock, which also set the lease; and the lease is dropped, so a late outcome of an attempt
        // whose lease ran out cannot overwrite this (see WebhookDeliveryStatements.Record).
        var changed = await db.Database.ExecuteSqlAsync(
            $"""
            UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = date_trunc('second', now()), locked_until = NULL
            WHERE account_id = {caller.AccountId} AND live_mode = {caller.LiveMode} AND webhook_id = {id} AND id = {deliveryId}
              AND status <> 'succeeded' AND (locked_until IS NULL OR locked_until < now())
            """,
            cancellationToken);
        var delivery = await Deliveries(db, caller, id).AsNoTracking().SingleOrDefaultAsync(d => d.Id == deliveryId, cancellationToken);
        if (delivery is null)
        {
            return ApiErrors.NotFound(http, "webhook_delivery", deliveryId);
        }

        if (changed == 0)
        {
            return delivery.Status == "succeeded"
                ? ApiErrors.Conflict(http, "webhook_delivery_succeeded", $"'{deliveryId}' has already been delivered; there is nothing to send again.")
                : ApiErrors.Conflict(http, "webhook_delivery_in_progress", $"An attempt of '{deliveryId}' is being made; retry once it is done.");
        }

        wakeUp.Now();
        return TypedResults.Ok(WebhookDeliveryResponse.From(delivery));
    }

    public static Ok<JsonWebKeySet> PublicKeys(WebhookSigning signing, HttpContext http)
    {
        http.Response.Headers.CacheControl = "public, max-age=300";
        return TypedResults.Ok(signing.PublicKeys());
    }

    private static IQueryable<Webhook> Owned(DevicesDbContext db, Caller caller) =>
        db.Webhooks.Where(w => w.AccountId == caller.AccountId && w.LiveMode == caller.LiveMode);

    private static IQueryable<WebhookDelivery> Deliveries(DevicesDbContext db, Caller caller, string webhookId) =>
        db.WebhookDeliveries.Where(d => d.AccountId == caller.AccountId && d.LiveMode == caller.LiveMode && d.WebhookId == webhookId);

    private static async Task<Webhook?> LockAsync(DevicesDbContext db, Caller caller, string id, CancellationToken cancellationToken) =>
        (await db.Webhooks.FromSql($"SELECT * FROM webhooks WHERE account_id = {caller.AccountId} AND live_mode = {caller.LiveMode} AND id = {id} FOR UPDATE").AsTracking()
            .ToListAsync(cancellationToken)).SingleOrDefault();
}
