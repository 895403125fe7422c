using Flatpeak.Devices.Api.Accounts;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Flatpeak.Devices.Api.Locations;

internal sealed class LocationConfiguration : IEntityTypeConfiguration<Location>
{
    public void Configure(EntityTypeBuilder<Location> location)
    {
        location.ToTable("locations");
        location.HasKey(l => l.Id);
        location.Property(l => l.Id).UseCollation("C");
        location.Property(l => l.AccountId).UseCollation("C");
        location.HasOne<Account>().WithMany().HasForeignKey(l => l.AccountId);
        // Every read is scoped to an account and mode, newest first.
        location.HasIndex(l => new { l.AccountId, l.LiveMode, l.Id });
    }
}
