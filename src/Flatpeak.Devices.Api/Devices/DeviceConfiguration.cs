using Flatpeak.Devices.Api.Accounts;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Flatpeak.Devices.Api.Devices;

internal sealed class DeviceConfiguration : IEntityTypeConfiguration<Device>
{
    public void Configure(EntityTypeBuilder<Device> device)
    {
        device.ToTable("devices");
        device.HasKey(d => d.Id);
        device.Property(d => d.Id).UseCollation("C");
        device.Property(d => d.AccountId).UseCollation("C");
        device.Property(d => d.Type).HasMaxLength(32);
        device.Property(d => d.LocationIds).HasColumnName("locations");
        device.HasOne<Account>().WithMany().HasForeignKey(d => d.AccountId);
        device.HasIndex(d => new { d.AccountId, d.LiveMode, d.Id });
        device.HasIndex(d => new { d.AccountId, d.LiveMode, d.ReferenceId });
        // "Which devices reference this location" (the location object's devices list).
        device.HasIndex(d => d.LocationIds).HasMethod("gin");
    }
}
