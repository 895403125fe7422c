using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Data.Batching;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Flatpeak.Devices.Api.Data;

public static class DataExtensions
{
    public const string ConnectionStringName = "Postgres";

    public static IServiceCollection AddDevicesData(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DatabaseOptions>().Bind(configuration.GetSection(DatabaseOptions.Section))
            .Validate(_ => !string.IsNullOrWhiteSpace(configuration.GetConnectionString(ConnectionStringName)),
                $"'ConnectionStrings:{ConnectionStringName}' must be set to an Npgsql connection string; the service does not start without it.")
            .ValidateOnStart();
        services.AddOptions<WritesOptions>().Bind(configuration.GetSection(WritesOptions.Section));
        services.AddSingleton<WriteMetrics>();
        // One pool of connections, for EF Core and for the batched writes.
        services.AddSingleton(_ => NpgsqlDataSource.Create(WithServiceDefaults(configuration.GetConnectionString(ConnectionStringName) ?? string.Empty)));
        services.AddDbContextPool<DevicesDbContext>((provider, options) => Configure(options, provider.GetRequiredService<NpgsqlDataSource>()));
        // The monthly partitions of device_states and events, and their retention.
        services.AddSingleton<Partitions.PartitionMaintenance>();
        services.AddHostedService(provider => provider.GetRequiredService<Partitions.PartitionMaintenance>());
        return services;
    }

    /// <summary>
    /// A kind of write that shares statements (<see cref="WriteBatcher{TItem, TOutcome}"/>): the handlers take the
    /// batcher, which runs as a hosted service (its writer loops).
    /// </summary>
    public static IServiceCollection AddBatchedWrite<TItem, TOutcome, TWrite>(this IServiceCollection services)
        where TOutcome : class
        where TWrite : class, IBatchedWrite<TItem, TOutcome>
    {
        services.AddSingleton<IBatchedWrite<TItem, TOutcome>, TWrite>();
        services.AddSingleton<WriteBatcher<TItem, TOutcome>>();
        services.AddHostedService(provider => provider.GetRequiredService<WriteBatcher<TItem, TOutcome>>());
        return services;
    }

    /// <summary>
    /// EF Core's own reports of a failed connection, command, query or save are lowered to Debug: every such failure
    /// also reaches the code that made the call as an exception, and is reported once where it is handled (an
    /// expected 503 as one warning line, anything else as a 500 with its stack, a failed start as one line on stderr).
    /// </summary>
    internal static void Configure(DbContextOptionsBuilder options, NpgsqlDataSource database) =>
        options
            .UseNpgsql(database, npgsql => npgsql.EnableRetryOnFailure(
                maxRetryCount: 2, maxRetryDelay: TimeSpan.FromMilliseconds(500), errorCodesToAdd: null))
            .UseSnakeCaseNamingConvention()
            .UseQueryTrackingBehavior(QueryTrackingBehavior.NoTracking)
            .ConfigureWarnings(w => w.Log(
                (RelationalEventId.ConnectionError, LogLevel.Debug),
                (RelationalEventId.CommandError, LogLevel.Debug),
                (RelationalEventId.TransactionError, LogLevel.Debug),
                (CoreEventId.QueryIterationFailed, LogLevel.Debug),
                (CoreEventId.SaveChangesFailed, LogLevel.Debug),
                (CoreEventId.ExecutionStrategyRetrying, LogLevel.Debug)));

    /// <summary>The service's sessions' <c>idle_in_transaction_session_timeout</c>, unless the connection string sets Options.</summary>
    public const string IdleInTransactionTimeout = "30s";

    /// <summary>The service's sessions' <c>statement_timeout</c>: a backstop for the 10 s command timeout, which cancels from the client.</summary>
    public const string StatementTimeout = "1min";

    /// <summary>
    /// Unless the connection string says otherwise: wait at most 3 s for a connection (opening one, or a free one
    /// from the pool) and 10 s for a command, so that with the database gone a request fails fast with 503
    /// instead of hanging; end a session idle in a transaction or a statement running too long; and prepare the
    /// statements used most.
    /// </summary>
    internal static string WithServiceDefaults(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        if (!given.ContainsKey("Timeout"))
        {
            builder.Timeout = 3;
        }

        if (!given.ContainsKey("Command Timeout") && !given.ContainsKey("CommandTimeout"))
        {
            builder.CommandTimeout = 10;
        }

        // A session the service leaves idle in a transaction, or a statement its cancel never reached (the process
        // gone), would hold back the event feed of every tenant (Events/FeedHorizon.cs): PostgreSQL ends either.
        if (!given.ContainsKey("Options"))
        {
            builder.Options = $"-c idle_in_transaction_session_timeout={IdleInTransactionTimeout} -c statement_timeout={StatementTimeout}";
        }

        // Prepare the statements each connection sends most: PostgreSQL then skips parsing and planning them.
        if (!given.ContainsKey("Max Auto Prepare"))
        {
            builder.MaxAutoPrepare = 32;
        }

        // The service sets no session state, so a pooled connection needs no reset (a round trip of
        // RESET ALL, DISCARD … each time EF takes one from the pool).
        if (!given.ContainsKey("No Reset On Close"))
        {
            builder.NoResetOnClose = true;
        }

        return builder.ConnectionString;
    }

    /// <summary>
    /// Applies pending migrations. Instances starting together take turns on a PostgreSQL advisory lock, so that
    /// one migrates and the others then find nothing to do (EF's own lock on the history table comes too late
    /// to keep two instances from creating that table at once).
    /// </summary>
    public static async Task MigrateDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await using var scope = services.CreateAsyncScope();
        var database = scope.ServiceProvider.GetRequiredService<DevicesDbContext>().Database;
        await database.OpenConnectionAsync(cancellationToken);
        try
        {
            await database.ExecuteSqlRawAsync($"SELECT pg_advisory_lock({MigrationLockKey})", cancellationToken);
            // On an empty database EF would first read the history table that is not there yet, and log that failure
            // at Error; create it first, so that a normal first start logs no error.
            await database.GetService<IHistoryRepository>().CreateIfNotExistsAsync(cancellationToken);
            await database.MigrateAsync(cancellationToken);
        }
        finally
        {
            // Pooled connections are not reset (No Reset On Close), so release the lock before giving this one back.
            try
            {
                await database.ExecuteSqlRawAsync($"SELECT pg_advisory_unlock({MigrationLockKey})", CancellationToken.None);
            }
            catch (Exception e) when (ErrorHandling.DatabaseUnavailable(e))
            {
                // The session is gone, and its lock with it.
            }

            await database.CloseConnectionAsync();
        }
    }

    private const long MigrationLockKey = 0x466C617470656B;
}

public sealed class DatabaseOptions
{
    public const string Section = "Database";

    /// <summary>Apply pending EF Core migrations when the service starts.</summary>
    public bool MigrateOnStartup { get; set; } = true;

    /// <summary>The time a request may spend in all, across database attempts and retries, before it is answered 503.</summary>
    [System.ComponentModel.DataAnnotations.Range(0.1, 3_600)]
    public double RequestBudgetSeconds { get; set; } = 5;
}
