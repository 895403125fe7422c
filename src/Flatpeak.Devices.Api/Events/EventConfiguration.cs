using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Flatpeak.Devices.Api.Events;

internal sealed class EventConfiguration : IEntityTypeConfiguration<ApiEvent>
{
    public void Configure(EntityTypeBuilder<ApiEvent> @event)
    {
        @event.ToTable("events");
        @event.HasKey(e => new { e.AccountId, e.LiveMode, e.Id });
        @event.Property(e => e.Id).UseCollation("C");
        @event.Property(e => e.AccountId).UseCollation("C");
        @event.Property(e => e.ObjectId).UseCollation("C");
        @event.Property(e => e.Type).HasMaxLength(64);
        @event.Property(e => e.ApiVersion).HasMaxLength(32).HasDefaultValue(Common.ApiVersions.Served);
        // json, not jsonb: kept as written (field order too) and cheaper to insert; nothing queries inside it.
        @event.Property(e => e.Data).HasColumnType("json");
        // xid8 as bigint: 64-bit transaction ids never reach 2^63, and bigint maps to a plain long.
        @event.Property(e => e.TransactionId).HasColumnName("xact_id")
            .HasDefaultValueSql(EventFeed.CurrentTransactionIdSql).ValueGeneratedOnAdd();
        @event.Property(e => e.WrittenAt).HasDefaultValueSql("clock_timestamp()").ValueGeneratedOnAdd();
        // The feed: newest first in commit-safe order (GET /events, and the webhook dispatcher per account and mode).
        @event.HasIndex(e => new { e.AccountId, e.LiveMode, e.TransactionId, e.Id });
        @event.HasIndex(e => new { e.AccountId, e.LiveMode, e.ObjectId });
    }
}
