using Microsoft.EntityFrameworkCore;

namespace Flatpeak.Devices.Api.Data;

public static class DataExtensions
{
    public const string ConnectionStringName = "Postgres";

    public static IServiceCollection AddDevicesData(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DatabaseOptions>().Bind(configuration.GetSection(DatabaseOptions.Section));
        services.AddDbContextPool<DevicesDbContext>(options =>
            Configure(options, configuration.GetConnectionString(ConnectionStringName)
                ?? throw new InvalidOperationException($"The configuration key 'ConnectionStrings:{ConnectionStringName}' is not set.")));
        return services;
    }

    internal static void Configure(DbContextOptionsBuilder options, string connectionString) =>
        options
            .UseNpgsql(connectionString)
            .UseSnakeCaseNamingConvention()
            .UseQueryTrackingBehavior(QueryTrackingBehavior.NoTracking);

    public static async Task MigrateDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<DevicesDbContext>().Database.MigrateAsync(cancellationToken);
    }
}

public sealed class DatabaseOptions
{
    public const string Section = "Database";

    /// <summary>Apply pending EF Core migrations when the service starts.</summary>
    public bool MigrateOnStartup { get; set; } = true;
}
