using System.Text.Json;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Common.Json;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Devices;

namespace Flatpeak.Devices.Api.Events;

public static class EventLog
{
    /// <summary>
    /// Adds the event of a device change to the unit of work, so that the same SaveChanges (one transaction)
    /// stores both: no change without its event, no event without its change.
    /// </summary>
    /// <returns>The event's id, by which a retry can tell whether the change was committed.</returns>
    public static string RecordDeviceEvent(this DevicesDbContext db, string type, DeviceResponse device, DateTimeOffset now) =>
        db.Events.Add(new ApiEvent
        {
            Id = ObjectIds.New(ObjectIds.Event, now),
            AccountId = device.AccountId,
            LiveMode = device.LiveMode,
            Type = type,
            Data = JsonSerializer.Serialize(device, ApiJsonContext.Default.DeviceResponse),
            TimeCreated = now,
        }).Entity.Id;
}
