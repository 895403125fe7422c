using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Flatpeak.Devices.Api.Idempotency;

internal sealed class IdempotencyKeyConfiguration : IEntityTypeConfiguration<IdempotencyKey>
{
    public void Configure(EntityTypeBuilder<IdempotencyKey> key)
    {
        key.ToTable("idempotency_keys");
        key.HasKey(k => new { k.AccountId, k.LiveMode, k.Key });
        key.Property(k => k.AccountId).UseCollation("C");
        key.Property(k => k.Key).UseCollation("C").HasMaxLength(IdempotencyFilter.MaxKeyLength);
        key.HasIndex(k => k.TimeCreated);
    }
}
