using System.ComponentModel.DataAnnotations;

namespace Flatpeak.Devices.Api.Events;

/// <summary>Configuration section <c>Events</c>.</summary>
public sealed class EventOptions
{
    public const string Section = "Events";

    /// <summary>
    /// How long events are kept, as Flatpeak keeps them ("going back up to 90 days"); older ones are not served, and
    /// are dropped with their month's partition and their webhook deliveries. It must outlast the webhook retry
    /// schedule by a day, so that no delivery still to be tried loses its event (checked at start).
    /// </summary>
    [Range(2, 36_500)]
    public int RetentionDays { get; set; } = 90;
}
