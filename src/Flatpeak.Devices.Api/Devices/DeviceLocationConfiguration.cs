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
        // location was rewritten by every create: docs/design.md, "Which devices are at a location".)
        link.HasKey(l => new { l.AccountId, l.LiveMode, l.LocationId, l.DeviceId });
        link.Property(l => l.AccountId).UseCollation("C");
        link.Property(l => l.LocationId).UseCollation("C");
        link.Property(l => l.DeviceId).UseCollation("C");
        // A device's locations are the account's and mode's, kept so by the database: a location with devices cannot
        // be deleted, and a device cannot be linked to a location that is gone. The primary key leads with these
        // columns, so the check needs no index of its own. (The rows belong to their device, and go with it in the
        // device's delete statement: a foreign key to devices would need one more index, written by every create.)
        link.HasOne<Locations.Location>().WithMany()
            .HasForeignKey(l => new { l.AccountId, l.LiveMode, l.LocationId })
            .OnDelete(DeleteBehavior.Restrict);
    }
}
