using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Flatpeak.Devices.Api.Data;

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without starting the service or reaching a database.</summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<DevicesDbContext>
{
    public DevicesDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<DevicesDbContext>();
        DataExtensions.Configure(options, Npgsql.NpgsqlDataSource.Create("Host=localhost;Database=flatpeak_devices"));
        return new DevicesDbContext(options.Options);
    }
}
