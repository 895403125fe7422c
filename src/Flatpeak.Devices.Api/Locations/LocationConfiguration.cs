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
        location.Property(l => l.CustomerId).UseCollation("C");
        // The reference_id and customer_id filters, newest first; the second is also a customer's embedded locations.
        location.HasIndex(l => new { l.AccountId, l.LiveMode, l.ReferenceId, l.Id });
        location.HasIndex(l => new { l.AccountId, l.LiveMode, l.CustomerId, l.Id });
        // A location's customer is one of its account and mode, kept so by the database (a null customer_id is not checked).
        location.HasOne<Customers.Customer>().WithMany()
            .HasForeignKey(l => new { l.AccountId, l.LiveMode, l.CustomerId })
            .OnDelete(DeleteBehavior.Restrict);
    }
}
