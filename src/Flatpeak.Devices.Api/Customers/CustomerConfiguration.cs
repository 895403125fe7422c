using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Flatpeak.Devices.Api.Customers;

internal sealed class CustomerConfiguration : IEntityTypeConfiguration<Customer>
{
    public void Configure(EntityTypeBuilder<Customer> customer)
    {
        customer.ToTable("customers");
        customer.HasKey(c => new { c.AccountId, c.LiveMode, c.Id });
        customer.Property(c => c.Id).UseCollation("C");
        customer.Property(c => c.AccountId).UseCollation("C");
        customer.Property(c => c.ReferenceId).UseCollation("C");
        customer.HasIndex(c => new { c.AccountId, c.LiveMode, c.ReferenceId, c.Id });
    }
}
