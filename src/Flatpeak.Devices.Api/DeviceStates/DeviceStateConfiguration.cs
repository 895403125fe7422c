using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Flatpeak.Devices.Api.DeviceStates;

/// <summary>
/// The model of <c>device_states</c>. The table itself is created by its migration as a partitioned table (EF Core
/// has no words for that); its columns and key are the ones here.
/// </summary>
internal sealed class DeviceStateConfiguration : IEntityTypeConfiguration<DeviceState>
{
    public void Configure(EntityTypeBuilder<DeviceState> state)
    {
        state.ToTable("device_states");
        // The partition key (time) must be part of the primary key; newest first per device is one index range.
        state.HasKey(s => new { s.AccountId, s.LiveMode, s.DeviceId, s.Time, s.Id });
        state.Property(s => s.AccountId).UseCollation("C");
        state.Property(s => s.DeviceId).UseCollation("C");
        state.Property(s => s.Id).UseCollation("C");
        state.Property(s => s.EnergyFlowDirection).HasMaxLength(6);
        state.Property(s => s.RecordReferenceId).UseCollation("C");
        state.Property(s => s.LocationId).UseCollation("C");
        // A device's states go with it.
        state.HasOne<Devices.Device>().WithMany()
            .HasForeignKey(s => new { s.AccountId, s.LiveMode, s.DeviceId })
            .OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class DeviceStateReferenceConfiguration : IEntityTypeConfiguration<DeviceStateReference>
{
    public void Configure(EntityTypeBuilder<DeviceStateReference> reference)
    {
        reference.ToTable("device_state_references");
        reference.HasKey(r => new { r.AccountId, r.LiveMode, r.DeviceId, r.RecordReferenceId });
        reference.Property(r => r.AccountId).UseCollation("C");
        reference.Property(r => r.DeviceId).UseCollation("C");
        reference.Property(r => r.RecordReferenceId).UseCollation("C");
        reference.Property(r => r.StateId).UseCollation("C");
        // Retention drops references by their record's time.
        reference.HasIndex(r => r.StateTime);
        reference.HasOne<Devices.Device>().WithMany()
            .HasForeignKey(r => new { r.AccountId, r.LiveMode, r.DeviceId })
            .OnDelete(DeleteBehavior.Cascade);
    }
}
