using Flatpeak.Devices.Api.Accounts;
using Flatpeak.Devices.Api.Devices;
using Flatpeak.Devices.Api.Events;
using Flatpeak.Devices.Api.Locations;
using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Data;

public sealed class DevicesDbContext(DbContextOptions<DevicesDbContext> options) : DbContext(options)
{
    public DbSet<Account> Accounts => Set<Account>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<Customers.Customer> Customers => Set<Customers.Customer>();
    public DbSet<Location> Locations => Set<Location>();
    public DbSet<Device> Devices => Set<Device>();
    public DbSet<DeviceLocation> DeviceLocations => Set<DeviceLocation>();
    public DbSet<ApiEvent> Events => Set<ApiEvent>();
    public DbSet<DeviceStates.DeviceState> DeviceStates => Set<DeviceStates.DeviceState>();
    public DbSet<DeviceStates.DeviceStateReference> DeviceStateReferences => Set<DeviceStates.DeviceStateReference>();
    public DbSet<Webhooks.Webhook> Webhooks => Set<Webhooks.Webhook>();
    public DbSet<Webhooks.WebhookDelivery> WebhookDeliveries => Set<Webhooks.WebhookDelivery>();
    public DbSet<Idempotency.IdempotencyKey> IdempotencyKeys => Set<Idempotency.IdempotencyKey>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(DevicesDbContext).Assembly);
}
