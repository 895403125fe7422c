using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Flatpeak.Devices.Api.Devices;

internal sealed class DeviceLocationConfiguration : IEntityTypeConfiguration<DeviceLocation>
{
    public void Configure(EntityTypeBuilder<DeviceLocation> link)
    {
        link.ToTable("device_locations");
        // A B-tree by location, then device id: the newest devices at a location are the end of one key range, and a
        // create adds one entry there. (It replaces a GIN index on devices.locations, whose posting list for a busy
        // location was rewritten by every create: README, "Write path".)
        link.HasKey(l => new { l.AccountId, l.LiveMode, l.LocationId, l.DeviceId });
        link.Property(l => l.AccountId).UseCollation("C");
        link.Property(l => l.LocationId).UseCollation("C");
        link.Property(l => l.DeviceId).UseCollation("C");
    }
}
