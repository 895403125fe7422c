using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Flatpeak.Devices.Api.Accounts;

internal sealed class AccountConfiguration : IEntityTypeConfiguration<Account>
{
    public void Configure(EntityTypeBuilder<Account> account)
    {
        account.ToTable("accounts");
        account.HasKey(a => a.Id);
        account.Property(a => a.Id).UseCollation("C");
        account.Property(a => a.Name).HasMaxLength(255);
        account.HasMany(a => a.Keys).WithOne().HasForeignKey(k => k.AccountId);
    }
}
