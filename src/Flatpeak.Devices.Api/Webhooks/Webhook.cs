using Flatpeak.Devices.Api.Common;

namespace Flatpeak.Devices.Api.Webhooks;

/// <summary>A webhook endpoint: where the events of an account and mode are sent.</summary>
public sealed class Webhook : IHasObjectId
{
    public required string Id { get; init; }
    public required string AccountId { get; init; }
    public required bool LiveMode { get; init; }
    public required string Url { get; set; }
    /// <summary>Event types, or <c>*</c> for all.</summary>
    public required List<string> EnabledEvents { get; set; }
    public required string Status { get; set; }
    public string? Description { get; set; }
    public required DateTimeOffset TimeCreated { get; init; }
}

/// <summary>One event to send to one endpoint, and how its attempts went. The table is the delivery queue.</summary>
public sealed class WebhookDelivery : IHasObjectId
{
    public required string Id { get; init; }
    public required string AccountId { get; init; }
    public required bool LiveMode { get; init; }
    public required string WebhookId { get; init; }
    public required string EventId { get; init; }
    /// <summary><c>pending</c>, <c>succeeded</c> or <c>failed</c>.</summary>
    public required string Status { get; set; }
    public int Attempts { get; set; }
    public int? LastStatusCode { get; set; }
    public string? LastError { get; set; }
    /// <summary>When the next attempt is due (null once the delivery is settled).</summary>
    public DateTimeOffset? NextAttemptAt { get; set; }
    /// <summary>Until when the instance that claimed the attempt owns it; after that another instance may make it.</summary>
    public DateTimeOffset? LockedUntil { get; set; }
    public DateTimeOffset? FirstAttemptAt { get; set; }
    public required DateTimeOffset TimeCreated { get; init; }
}

/// <summary>
/// How far the dispatcher has read one account's feed in one mode: the position of the last event it turned into
/// deliveries. There is a row for every account and mode that has had a webhook endpoint, started at the feed's
/// settled end when the first was created; the feeds of the others are never read.
/// </summary>
public sealed class WebhookFeedPosition
{
    public required string AccountId { get; init; }
    public required bool LiveMode { get; init; }
    public long TransactionId { get; set; }
    public required string EventId { get; set; }
}
