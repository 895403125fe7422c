using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Flatpeak.Devices.Api.Accounts;

internal sealed class ApiKeyConfiguration : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> key)
    {
        key.ToTable("api_keys");
        key.HasKey(k => new { k.AccountId, k.Id });
        key.Property(k => k.Id).UseIdentityByDefaultColumn();
        key.Property(k => k.AccountId).UseCollation("C");
        key.Property(k => k.KeyPrefix).HasMaxLength(32);
        key.HasIndex(k => new { k.AccountId, k.KeyHash }).IsUnique();
    }
}
