using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Flatpeak.Devices.Api.Locations;

internal sealed class LocationConfiguration : IEntityTypeConfiguration<Location>
{
    public void Configure(EntityTypeBuilder<Location> location)
    {
        location.ToTable("locations");
        // Every read is scoped to an account and mode, newest first; the key leads with the tenant.
        location.HasKey(l => new { l.AccountId, l.LiveMode, l.Id });
        location.Property(l => l.Id).UseCollation("C");
        location.Property(l => l.AccountId).UseCollation("C");
        location.Property(l => l.ReferenceId).UseCollation("C");
    }
}
