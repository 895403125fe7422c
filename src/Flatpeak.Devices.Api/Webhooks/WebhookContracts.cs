using Flatpeak.Devices.Api.Common;
using Microsoft.AspNetCore.Mvc;

namespace Flatpeak.Devices.Api.Webhooks;

/// <summary>The writable fields of a webhook endpoint: the body of a create, and what a patch is merged into and validated as.</summary>
public sealed record CreateWebhookRequest(string? Url, IReadOnlyList<string?>? EnabledEvents, string? Description, string? Status)
{
    public void ApplyTo(Webhook webhook)
    {
        webhook.Url = Url!;
        webhook.EnabledEvents = [.. EnabledEvents!.Select(e => e!)];
        webhook.Description = Description;
        webhook.Status = Status ?? WebhookRules.Enabled;
    }
}

public sealed record WebhookResponse(
    string Id,
    string Object,
    bool LiveMode,
    string AccountId,
    string Url,
    IReadOnlyList<string> EnabledEvents,
    string Status,
    string? Description,
    DateTimeOffset TimeCreated)
{
    public static WebhookResponse From(Webhook w) =>
        new(w.Id, "webhook", w.LiveMode, w.AccountId, w.Url, w.EnabledEvents, w.Status, w.Description, w.TimeCreated);
}

public sealed record WebhookDeliveryResponse(
    string Id,
    string Object,
    string WebhookId,
    string EventId,
    string Status,
    int Attempts,
    int? LastStatusCode,
    string? LastError,
    DateTimeOffset? NextAttemptAt,
    DateTimeOffset TimeCreated)
{
    public static WebhookDeliveryResponse From(WebhookDelivery d) =>
        new(d.Id, "webhook_delivery", d.WebhookId, d.EventId, d.Status, d.Attempts, d.LastStatusCode, d.LastError, d.NextAttemptAt, d.TimeCreated);
}

public sealed record WebhookListQuery(
    [FromQuery(Name = "limit")] string? Limit,
    [FromQuery(Name = "starting_after")] string? StartingAfter,
    [FromQuery(Name = "ending_before")] string? EndingBefore) : IPageQuery;

public sealed record WebhookDeliveryListQuery(
    [FromQuery(Name = "limit")] string? Limit,
    [FromQuery(Name = "starting_after")] string? StartingAfter,
    [FromQuery(Name = "ending_before")] string? EndingBefore) : IPageQuery;

/// <summary>The public half of the signing keys, as a JWK Set.</summary>
public sealed record JsonWebKeySet(IReadOnlyList<JsonWebKeyResponse> Keys);

public sealed record JsonWebKeyResponse(string Kty, string Use, string Alg, string Kid, string N, string E);
