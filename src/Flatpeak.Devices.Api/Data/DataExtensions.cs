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

    /// <summary>
    /// Set when <c>ConnectionStrings:Postgres</c> goes through a pooler in transaction mode (PgBouncer): the session
    /// work (migrations under their advisory lock, <c>LISTEN</c>) connects here, straight to PostgreSQL.
    /// </summary>
    public const string DirectConnectionStringName = "PostgresDirect";

    public static IServiceCollection AddDevicesData(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DatabaseOptions>().Bind(configuration.GetSection(DatabaseOptions.Section))
            .Validate(_ => !string.IsNullOrWhiteSpace(configuration.GetConnectionString(ConnectionStringName)),
                $"'ConnectionStrings:{ConnectionStringName}' must be set to an Npgsql connection string; the service does not start without it.")
            .ValidateOnStart();
        services.AddOptions<WritesOptions>().Bind(configuration.GetSection(WritesOptions.Section));
        services.AddSingleton<WriteMetrics>();
        // One pool of connections, for EF Core and for the batched writes.
        services.AddSingleton(_ => NpgsqlDataSource.Create(PooledConnectionString(configuration)));
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

    /// <summary>How long migrations may take (their session has no statement timeout).</summary>
    public static readonly TimeSpan MigrationTimeout = TimeSpan.FromHours(1);

    /// <summary>True when <c>ConnectionStrings:PostgresDirect</c> is set: <c>ConnectionStrings:Postgres</c> is then a transaction pooler.</summary>
    public static bool BehindPooler(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration.GetConnectionString(DirectConnectionStringName));

    /// <summary>The connection string of the service's pool (requests, batches, background work), with the service's defaults.</summary>
    public static string PooledConnectionString(IConfiguration configuration) =>
        WithServiceDefaults(configuration.GetConnectionString(ConnectionStringName) ?? string.Empty, BehindPooler(configuration));

    /// <summary>A connection string straight to PostgreSQL, for session work: <c>PostgresDirect</c>, else <c>Postgres</c>.</summary>
    public static string DirectConnectionString(IConfiguration configuration) =>
        WithServiceDefaults(
            BehindPooler(configuration)
                ? configuration.GetConnectionString(DirectConnectionStringName)!
                : configuration.GetConnectionString(ConnectionStringName) ?? string.Empty,
            behindPooler: false);

    /// <summary>
    /// Unless the connection string says otherwise: wait at most 3 s for a connection (opening one, or a free one
    /// from the pool) and 10 s for a command, so that with the database gone a request fails fast with 503
    /// instead of hanging; end a session idle in a transaction or a statement running too long; and prepare the
    /// statements used most.
    /// </summary>
    /// <param name="connectionString">As configured.</param>
    /// <param name="behindPooler">
    /// Through a pooler in transaction mode, which can hand each transaction a different server session: no statements
    /// prepared on a session (PgBouncer 1.18 cannot keep them), and no startup options (it refuses them; set the
    /// session timeouts on the role instead, see docs/operations.md, "Behind PgBouncer").
    /// </param>
    internal static string WithServiceDefaults(string connectionString, bool behindPooler = false)
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
        if (!given.ContainsKey("Options") && !behindPooler)
        {
            builder.Options = $"-c idle_in_transaction_session_timeout={IdleInTransactionTimeout} -c statement_timeout={StatementTimeout}";
        }

        // Prepare the statements each connection sends most: PostgreSQL then skips parsing and planning them.
        if (!given.ContainsKey("Max Auto Prepare"))
        {
            builder.MaxAutoPrepare = behindPooler ? 0 : 32;
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
        // Straight to PostgreSQL: the advisory lock is held across statements and transactions, by one session.
        await using var direct = NpgsqlDataSource.Create(DirectConnectionString(services.GetRequiredService<IConfiguration>()));
        var options = new DbContextOptionsBuilder<DevicesDbContext>();
        Configure(options, direct);
        await using var context = new DevicesDbContext(options.Options);
        var database = context.Database;
        // A migration may rewrite a big table (PartitionEvents copies every event): no timeout of a request applies.
        database.SetCommandTimeout(MigrationTimeout);
        await database.OpenConnectionAsync(cancellationToken);
        try
        {
            await database.ExecuteSqlRawAsync("SET statement_timeout = 0", cancellationToken);
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
