using Flatpeak.Devices.Api.Common;

namespace Flatpeak.Devices.Api.Events;

public sealed class ApiEvent : IHasObjectId
{
    public required string Id { get; init; }
    public required string AccountId { get; init; }
    public required bool LiveMode { get; init; }
    public required string Type { get; init; }
    /// <summary>The object the event is about, as the API showed it at that moment (JSON).</summary>
    public required string Data { get; init; }
    public required DateTimeOffset TimeCreated { get; init; }
}
