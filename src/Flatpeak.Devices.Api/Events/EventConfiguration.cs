using Flatpeak.Devices.Api.Accounts;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Flatpeak.Devices.Api.Events;

internal sealed class EventConfiguration : IEntityTypeConfiguration<ApiEvent>
{
    public void Configure(EntityTypeBuilder<ApiEvent> @event)
    {
        @event.ToTable("events");
        @event.HasKey(e => e.Id);
        @event.Property(e => e.Id).UseCollation("C");
        @event.Property(e => e.AccountId).UseCollation("C");
        @event.Property(e => e.Type).HasMaxLength(64);
        // json, not jsonb: kept as written (field order too) and cheaper to insert; nothing queries inside it.
        @event.Property(e => e.Data).HasColumnType("json");
        @event.HasOne<Account>().WithMany().HasForeignKey(e => e.AccountId);
        @event.HasIndex(e => new { e.AccountId, e.LiveMode, e.Id });
    }
}
