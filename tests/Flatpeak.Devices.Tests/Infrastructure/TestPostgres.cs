using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Testcontainers.PostgreSql;

namespace Flatpeak.Devices.Tests.Infrastructure;

/// <summary>
/// A real, throwaway PostgreSQL for one test run: a Testcontainers container where a Docker engine answers,
/// otherwise a cluster started from the local PostgreSQL server binaries, otherwise a failure saying what is missing.
/// <c>FLATPEAK_TEST_POSTGRES=docker|local</c> forces one of the two.
/// </summary>
public abstract class TestPostgres : IAsyncDisposable
{
    public abstract string ConnectionString { get; }

    public abstract string Kind { get; }

    public abstract Task StopAsync();

    public abstract Task StartAgainAsync();

    public abstract ValueTask DisposeAsync();

    public static async Task<TestPostgres> StartAsync()
    {
        var forced = Environment.GetEnvironmentVariable("FLATPEAK_TEST_POSTGRES");
        Exception? dockerFailure = null;
        if (forced is null or "docker")
        {
            try
            {
                return await ContainerPostgres.StartContainerAsync();
            }
            catch (Exception e) when (forced is null)
            {
                dockerFailure = e;
            }
        }

        var binDir = LocalPostgres.FindBinDirectory();
        if (binDir is null)
        {
            throw new InvalidOperationException(
                "The integration tests need a real PostgreSQL: either a Docker engine for Testcontainers " +
                $"({dockerFailure?.GetType().Name}: {dockerFailure?.Message}) or the PostgreSQL server binaries " +
                "(initdb, pg_ctl; found through `pg_config --bindir`, PG_BIN or /usr/lib/postgresql/*/bin). " +
                "On Debian: apt-get install postgresql.");
        }

        return await LocalPostgres.StartClusterAsync(binDir);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class ContainerPostgres(PostgreSqlContainer container) : TestPostgres
    {
        public override string ConnectionString => container.GetConnectionString();

        public override string Kind => "Testcontainers";

        public static async Task<TestPostgres> StartContainerAsync()
        {
            // A fixed host port, so that the connection string outlives a stop and start (the outage tests).
            var container = new PostgreSqlBuilder("postgres:15-alpine").WithPortBinding(FreePort(), 5432)
                .WithCommand("-c", "max_connections=500").Build();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await container.StartAsync(timeout.Token);
            return new ContainerPostgres(container);
        }

        public override Task StopAsync() => container.StopAsync();

        public override Task StartAgainAsync() => container.StartAsync();

        public override ValueTask DisposeAsync() => container.DisposeAsync();
    }

    private sealed class LocalPostgres(string binDir, string root, int port) : TestPostgres
    {
        private string DataDir => Path.Combine(root, "data");

        public override string ConnectionString =>
            $"Host=127.0.0.1;Port={port};Database=postgres;Username=postgres;Password=unused;Pooling=true;Timeout=5;Command Timeout=15";

        public override string Kind => "local PostgreSQL binaries in " + binDir;

        public static string? FindBinDirectory()
        {
            var fromEnv = Environment.GetEnvironmentVariable("PG_BIN");
            if (HasServer(fromEnv))
            {
                return fromEnv;
            }

            try
            {
                var fromPgConfig = Run("pg_config", ["--bindir"], asPostgres: false).Trim();
                if (HasServer(fromPgConfig))
                {
                    return fromPgConfig;
                }
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                // No pg_config on the PATH: look in Debian's place.
            }

            return Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql")
                    .Select(d => Path.Combine(d, "bin"))
                    .Where(HasServer)
                    .OrderByDescending(d => d, StringComparer.Ordinal)
                    .FirstOrDefault()
                : null;

            static bool HasServer(string? dir) => dir is not null && File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl"));
        }

        public static async Task<TestPostgres> StartClusterAsync(string binDir)
        {
            var root = Path.Combine(Path.GetTempPath(), "flatpeak-test-pg-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(root);
            if (Environment.IsPrivilegedProcess)
            {
                // initdb and postgres refuse to run as root: the cluster belongs to the postgres user.
                Run("chown", ["postgres:postgres", root], asPostgres: false);
            }

            var server = new LocalPostgres(binDir, root, FreePort());
            Run(Path.Combine(binDir, "initdb"), ["-D", server.DataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"], asPostgres: true);
            await server.StartAgainAsync();
            return server;
        }

        public override Task StopAsync()
        {
            // "fast": sessions are ended and their open transactions rolled back, as when a database server goes down for a restart.
            Run(Path.Combine(binDir, "pg_ctl"), ["-D", DataDir, "-m", "fast", "-w", "stop"], asPostgres: true);
            return Task.CompletedTask;
        }

        public override Task StartAgainAsync()
        {
            // No fsync: a test database is thrown away. Commits stay synchronous, so an acknowledged commit survives
            // the server being stopped (the outage tests count on it).
            var options = $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=500";
            Run(Path.Combine(binDir, "pg_ctl"), ["-D", DataDir, "-l", Path.Combine(root, "postgres.log"), "-o", options, "-w", "-t", "60", "start"], asPostgres: true);
            return Task.CompletedTask;
        }

        public override ValueTask DisposeAsync()
        {
            try
            {
                StopAsync();
            }
            catch (InvalidOperationException)
            {
                // Already stopped by a test.
            }

            Directory.Delete(root, recursive: true);
            return ValueTask.CompletedTask;
        }


        private static string Run(string file, string[] args, bool asPostgres)
        {
            var start = new ProcessStartInfo
            {
                FileName = asPostgres && Environment.IsPrivilegedProcess ? "runuser" : file,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = Path.GetTempPath(),
            };
            if (asPostgres && Environment.IsPrivilegedProcess)
            {
                foreach (var arg in (string[])["-u", "postgres", "--", file])
                {
                    start.ArgumentList.Add(arg);
                }
            }

            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {stderr}");
            }

            return stdout.Result;
        }
    }
}
