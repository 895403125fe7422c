using Flatpeak.Devices.Api.Common;

namespace Flatpeak.Devices.Api.Events;

public sealed class ApiEvent : IHasObjectId
{
    public required string Id { get; init; }
    public required string AccountId { get; init; }
    public required bool LiveMode { get; init; }
    public required string Type { get; init; }
    /// <summary>The id of the object the event is about.</summary>
    public required string ObjectId { get; init; }
    /// <summary>The object the event is about, as stored right after the change (JSON).</summary>
    public required string Data { get; init; }
    public required DateTimeOffset TimeCreated { get; init; }
    /// <summary>The API version of the request that made the change (the database fills in the one served).</summary>
    public string ApiVersion { get; init; } = Common.ApiVersions.Served;
    /// <summary>
    /// The id of the transaction that wrote the event (set by the database). The feed is ordered by it, and shows only
    /// events of transactions older than every transaction still running, so that a late commit is never skipped.
    /// </summary>
    public long TransactionId { get; init; }

    /// <summary>When the statement that wrote the event ran (set by the database, to the microsecond; not on the wire): webhook delivery lag counts from it.</summary>
    public DateTimeOffset WrittenAt { get; init; }
}
