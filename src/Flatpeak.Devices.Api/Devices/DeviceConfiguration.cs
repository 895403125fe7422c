using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Flatpeak.Devices.Api.Devices;

internal sealed class DeviceConfiguration : IEntityTypeConfiguration<Device>
{
    public void Configure(EntityTypeBuilder<Device> device)
    {
        device.ToTable("devices");
        // Keys lead with the tenant (distribution column on Citus); the same index serves get-by-id and the newest-first list.
        // No foreign key to accounts: every insert would take a KEY SHARE lock on the one account row (docs/design.md, "Nothing points at a deleted object").
        device.HasKey(d => new { d.AccountId, d.LiveMode, d.Id });
        device.Property(d => d.Id).UseCollation("C");
        device.Property(d => d.AccountId).UseCollation("C");
        // Matched exactly, never sorted for people: byte order is cheaper to index and compare.
        device.Property(d => d.ReferenceId).UseCollation("C");
        device.Property(d => d.Type).HasMaxLength(32);
        device.Property(d => d.LocationIds).HasColumnName("locations");
        device.HasIndex(d => new { d.AccountId, d.LiveMode, d.ReferenceId });
        // "Which devices are at this location" is device_locations (DeviceLocation), not an index on this array.
    }
}
